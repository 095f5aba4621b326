import DiswotTensor

/// Batch normalisation over channels (`nn.BatchNorm2d`, eps 1e-5, momentum 0.1).
public final class BatchNorm2d: Layer {
  public var state: BatchNormState
  public let eps: Float
  public let momentum: Float
  /// dL/dweight and dL/dbias (γ and β), accumulated by `backward` (nil until first needed).
  public private(set) var weightGradient: Tensor?
  public private(set) var biasGradient: Tensor?
  /// The last recording forward pass: its input, and its batch statistics (nil when it
  /// used the running statistics, which are then constants of the pass).
  private var record: (input: Tensor, statistics: BatchNormBatchStatistics?)?
  /// Whether backward passes of that record accumulate γ's and β's gradients
  /// (`ForwardMode.parameterGradients`).
  private var recordedParameterGradients = true

  public init(channels: Int, eps: Float = 1e-5, momentum: Float = 0.1) {
    state = BatchNormState(channels: channels)
    self.eps = eps
    self.momentum = momentum
  }

  public func forward(_ x: Tensor, mode: ForwardMode) throws(TensorError) -> Tensor {
    record = nil
    recordedParameterGradients = mode.parameterGradients
    switch mode.batchNorm {
    case .inference:
      let y = try batchnorm2d_forward_inference(x, state: state, eps: eps)
      if mode.recordsForBackward { record = (x, nil) }
      return y
    case .training(let update):
      let (y, statistics) = try batchnorm2d_forward_training(
        x, state: &state, momentum: momentum, eps: eps, updateRunningStatistics: update)
      if let observer = mode.observer {
        observer.observeBatchNorm(variance: statistics.invStd.map { 1 / ($0 * $0) - eps })
      }
      if mode.recordsForBackward { record = (x, statistics) }
      return y
    }
  }

  public func backward(_ dy: Tensor) throws(TensorError) -> Tensor {
    guard let record else { throw missingRecord("BatchNorm2d") }
    prepareGradient(&weightGradient, for: state.weight)
    prepareGradient(&biasGradient, for: state.bias)
    if let statistics = record.statistics {
      return try batchnorm2d_backward_training(
        record.input, dOutput: dy, state: state, statistics: statistics, dWeight: &weightGradient!,
        dBias: &biasGradient!, computeParameterGradients: recordedParameterGradients)
    }
    return try batchnorm2d_backward_inference(
      record.input, dOutput: dy, state: state, eps: eps, dWeight: &weightGradient!, dBias: &biasGradient!,
      computeParameterGradients: recordedParameterGradients)
  }

  public func outputShapeAndMACs(input: [Int]) throws(TensorError) -> (shape: [Int], macs: Int) {
    guard input.count == 4, input[1] == state.channels else {
      throw .shapeMismatch("batch norm over \(state.channels) channels got input \(input)")
    }
    return (input, 0)
  }

  /// A leaf: its own tensors, no children.
  public var children: [(name: String, layer: Layer)] { [] }

  public func visitState(prefix: String, _ visit: (String, StateKind, inout Tensor) throws -> Void) rethrows {
    try visit(qualified(prefix, "weight"), .parameter, &state.weight)
    try visit(qualified(prefix, "bias"), .parameter, &state.bias)
    try visit(qualified(prefix, "running_mean"), .buffer, &state.runningMean)
    try visit(qualified(prefix, "running_var"), .buffer, &state.runningVar)
    try visit(qualified(prefix, "num_batches_tracked"), .counter, &state.batchesTracked)
  }

  public func visitParameters(prefix: String, _ visit: (String, inout Tensor, inout Tensor) throws -> Void) rethrows {
    prepareGradient(&weightGradient, for: state.weight)
    prepareGradient(&biasGradient, for: state.bias)
    try visit(qualified(prefix, "weight"), &state.weight, &weightGradient!)
    try visit(qualified(prefix, "bias"), &state.bias, &biasGradient!)
  }

  public func zeroGradients() {
    zeroFill(&weightGradient)
    zeroFill(&biasGradient)
  }
}
