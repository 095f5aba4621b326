import DiswotTensor

/// How batch normalisation behaves during a forward pass.
public enum BatchNormMode: Sendable, Equatable {
  /// Running statistics (evaluation, deployment).
  case inference
  /// Batch statistics; running statistics move towards them only when asked (training
  /// does, training-free scoring does not, so scoring never changes a model).
  case training(updateRunningStatistics: Bool)
}

/// Sees intermediate results of a forward pass. Zero-cost proxies need more than the
/// output (NASWOT reads every ReLU's binary pattern, Zen-score every batch norm's
/// statistics), and an observer gives them that without a second network definition.
public protocol ForwardObserver: AnyObject {
  /// Called with each ReLU's output, in forward order.
  func observeActivation(_ output: Tensor)
  /// Called by each batch norm in training mode with its batch variance per channel.
  func observeBatchNorm(variance: [Float])
}

/// Everything a forward pass needs besides its input.
public struct ForwardMode {
  public var batchNorm: BatchNormMode
  /// Optional observer of intermediate results; nil on every hot path.
  public var observer: ForwardObserver?

  public init(batchNorm: BatchNormMode, observer: ForwardObserver? = nil) {
    self.batchNorm = batchNorm
    self.observer = observer
  }

  /// Running batch-norm statistics, no observer.
  public static var inference: ForwardMode { ForwardMode(batchNorm: .inference) }

  /// Batch statistics, updating the running ones only when asked.
  public static func training(updateRunningStatistics: Bool) -> ForwardMode {
    ForwardMode(batchNorm: .training(updateRunningStatistics: updateRunningStatistics))
  }
}

/// ReLU in place, reported to the pass's observer: every network applies its ReLUs
/// through this so that activation-based proxies see all of them.
public func relu(_ x: inout Tensor, _ mode: ForwardMode) {
  relu_forward(&x)
  mode.observer?.observeActivation(x)
}

/// Whether a named state tensor is learned or tracked.
public enum StateKind: Sendable, Equatable {
  /// A learned parameter (`model.parameters()` in PyTorch).
  case parameter
  /// A tracked buffer such as BN running statistics (in the state dict, not learned).
  case buffer
}

/// A building block of a network.
///
/// Layers are reference types because they own mutable state (weights, running
/// statistics and, with the backward pass, cached activations and gradients) whose
/// identity matters: an optimiser updates the very tensors a layer reads.
public protocol Layer: AnyObject {
  /// Runs the layer on a batch.
  func forward(_ x: Tensor, mode: ForwardMode) throws(TensorError) -> Tensor
  /// Output shape and multiply-accumulate count for an input shape, without computing.
  func outputShapeAndMACs(input: [Int]) throws(TensorError) -> (shape: [Int], macs: Int)
  /// Visits every state tensor under its PyTorch `state_dict` name, in PyTorch's order.
  func visitState(prefix: String, _ visit: (String, StateKind, inout Tensor) throws -> Void) rethrows
  /// Direct children, in forward order (empty for leaves); lets whole-network passes
  /// such as initialisation walk any architecture without knowing its type.
  var sublayers: [Layer] { get }
}

extension Layer {
  public var sublayers: [Layer] { [] }
}

extension Layer {
  /// Learned parameter count, as `sum(p.numel() for p in model.parameters())`.
  public var parameterCount: Int {
    var total = 0
    visitState(prefix: "") { _, kind, t in if kind == .parameter { total += t.count } }
    return total
  }
}

/// Joins a prefix and a name with a dot, as PyTorch's module paths do.
func qualified(_ prefix: String, _ name: String) -> String {
  prefix.isEmpty ? name : prefix + "." + name
}

/// ReLU6 in place, reported to the pass's observer like `relu` (MobileNetV2's activation).
public func relu6(_ x: inout Tensor, _ mode: ForwardMode) {
  relu6_forward(&x)
  mode.observer?.observeActivation(x)
}
