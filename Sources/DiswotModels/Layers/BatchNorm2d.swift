import DiswotTensor

/// Batch normalisation over channels (`nn.BatchNorm2d`, eps 1e-5, momentum 0.1).
public final class BatchNorm2d: Layer {
  public var state: BatchNormState
  public let eps: Float
  public let momentum: Float

  public init(channels: Int, eps: Float = 1e-5, momentum: Float = 0.1) {
    state = BatchNormState(channels: channels)
    self.eps = eps
    self.momentum = momentum
  }

  public func forward(_ x: Tensor, mode: ForwardMode) throws(TensorError) -> Tensor {
    switch mode.batchNorm {
    case .inference:
      return try batchnorm2d_forward_inference(x, state: state, eps: eps)
    case .training(let update):
      let (y, statistics) = try batchnorm2d_forward_training(
        x, state: &state, momentum: momentum, eps: eps, updateRunningStatistics: update)
      if let observer = mode.observer {
        observer.observeBatchNorm(variance: statistics.invStd.map { 1 / ($0 * $0) - eps })
      }
      return y
    }
  }

  public func outputShapeAndMACs(input: [Int]) throws(TensorError) -> (shape: [Int], macs: Int) {
    guard input.count == 4, input[1] == state.channels else {
      throw .shapeMismatch("batch norm over \(state.channels) channels got input \(input)")
    }
    return (input, 0)
  }

  public func visitState(prefix: String, _ visit: (String, StateKind, inout Tensor) throws -> Void) rethrows {
    try visit(qualified(prefix, "weight"), .parameter, &state.weight)
    try visit(qualified(prefix, "bias"), .parameter, &state.bias)
    try visit(qualified(prefix, "running_mean"), .buffer, &state.runningMean)
    try visit(qualified(prefix, "running_var"), .buffer, &state.runningVar)
  }
}
