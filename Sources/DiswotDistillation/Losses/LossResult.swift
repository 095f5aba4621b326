import DiswotTensor

/// A loss value and its gradient with respect to the student's input to the loss.
///
/// Every distillation loss in this module is a pure function of student and teacher
/// tensors; the teacher's are constants, so only the student side gets a gradient.
/// Values are accumulated and returned in Double; gradients come back as Float tensors
/// shaped like the student input they belong to, ready for the layers' backward passes.
public struct LossResult: Sendable, Equatable {
  /// The loss, reduced exactly as the reference implementation named in each loss's docs.
  public let value: Double
  /// ∂value/∂(student input), same shape as that input.
  public let gradient: Tensor

  public init(value: Double, gradient: Tensor) {
    self.value = value
    self.gradient = gradient
  }
}
