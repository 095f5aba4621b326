import DiswotTensor

/// A fully connected layer (`nn.Linear`) with bias.
public final class Linear: Layer {
  /// [out, in]
  public var weight: Tensor
  /// [out]
  public var bias: Tensor
  /// dL/dweight and dL/dbias, accumulated by `backward` (nil until first needed).
  public private(set) var weightGradient: Tensor?
  public private(set) var biasGradient: Tensor?
  /// The input of the last recording forward pass.
  private var recordedInput: Tensor?
  /// Whether backward passes of that record accumulate the weight and bias gradients
  /// (`ForwardMode.parameterGradients`).
  private var recordedParameterGradients = true
  /// The output of the last recording forward pass and who watches its gradient, kept
  /// only when that pass had a `ForwardMode.backwardObserver`.
  private var observedOutput: (output: Tensor, observer: BackwardObserver)?

  public init(inFeatures: Int, outFeatures: Int) {
    weight = Tensor(zeros: [outFeatures, inFeatures])
    bias = Tensor(zeros: [outFeatures])
  }

  public var inFeatures: Int { weight.shape[1] }
  public var outFeatures: Int { weight.shape[0] }

  public func forward(_ x: Tensor, mode: ForwardMode) throws(TensorError) -> Tensor {
    recordedInput = mode.recordsForBackward ? x : nil
    recordedParameterGradients = mode.parameterGradients
    observedOutput = nil
    let y = try linear_forward(x, weight: weight, bias: bias)
    if mode.recordsForBackward, let observer = mode.backwardObserver { observedOutput = (y, observer) }
    return y
  }

  public func backward(_ dy: Tensor) throws(TensorError) -> Tensor {
    guard let x = recordedInput else { throw missingRecord("Linear") }
    if let observedOutput {
      observedOutput.observer.observeOutputGradient(layer: self, output: observedOutput.output, dOutput: dy)
    }
    prepareGradient(&weightGradient, for: weight)
    prepareGradient(&biasGradient, for: bias)
    return try linear_backward(
      x, weight: weight, dOutput: dy, dWeight: &weightGradient!, dBias: &biasGradient,
      computeParameterGradients: recordedParameterGradients)!
  }

  public func outputShapeAndMACs(input: [Int]) throws(TensorError) -> (shape: [Int], macs: Int) {
    guard input.count == 2, input[1] == inFeatures else {
      throw .shapeMismatch("linear layer over \(inFeatures) features got input \(input)")
    }
    return ([input[0], outFeatures], input[0] * inFeatures * outFeatures)
  }

  /// A leaf: its own tensors, no children.
  public var children: [(name: String, layer: Layer)] { [] }

  public func visitState(prefix: String, _ visit: (String, StateKind, inout Tensor) throws -> Void) rethrows {
    try visit(qualified(prefix, "weight"), .parameter, &weight)
    try visit(qualified(prefix, "bias"), .parameter, &bias)
  }

  public func visitParameters(prefix: String, _ visit: (String, inout Tensor, inout Tensor) throws -> Void) rethrows {
    prepareGradient(&weightGradient, for: weight)
    prepareGradient(&biasGradient, for: bias)
    try visit(qualified(prefix, "weight"), &weight, &weightGradient!)
    try visit(qualified(prefix, "bias"), &bias, &biasGradient!)
  }

  public func zeroGradients() {
    zeroFill(&weightGradient)
    zeroFill(&biasGradient)
  }
}
