import DiswotTensor

/// A fully connected layer (`nn.Linear`) with bias.
public final class Linear: Layer {
  /// [out, in]
  public var weight: Tensor
  /// [out]
  public var bias: Tensor

  public init(inFeatures: Int, outFeatures: Int) {
    weight = Tensor(zeros: [outFeatures, inFeatures])
    bias = Tensor(zeros: [outFeatures])
  }

  public var inFeatures: Int { weight.shape[1] }
  public var outFeatures: Int { weight.shape[0] }

  public func forward(_ x: Tensor, mode: ForwardMode) throws(TensorError) -> Tensor {
    try linear_forward(x, weight: weight, bias: bias)
  }

  public func outputShapeAndMACs(input: [Int]) throws(TensorError) -> (shape: [Int], macs: Int) {
    guard input.count == 2, input[1] == inFeatures else {
      throw .shapeMismatch("linear layer over \(inFeatures) features got input \(input)")
    }
    return ([input[0], outFeatures], input[0] * inFeatures * outFeatures)
  }

  public func visitState(prefix: String, _ visit: (String, StateKind, inout Tensor) throws -> Void) rethrows {
    try visit(qualified(prefix, "weight"), .parameter, &weight)
    try visit(qualified(prefix, "bias"), .parameter, &bias)
  }
}
