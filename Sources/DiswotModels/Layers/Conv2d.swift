import DiswotTensor

/// A 2-D convolution layer (`nn.Conv2d`), bias optional.
public final class Conv2d: Layer {
  public let geometry: Conv2dGeometry
  /// [out, in/groups, kH, kW]
  public var weight: Tensor { didSet { winogradWeights = nil } }
  /// The kernel in the Winograd domain, for geometries that run Winograd: computed on the
  /// first forward pass after each weight change rather than on every call.
  private var winogradWeights: WinogradWeights?
  /// [out], or nil for `bias=False` (every convolution followed by batch norm).
  public var bias: Tensor?
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

  public init(_ geometry: Conv2dGeometry, bias: Bool = false) throws(TensorError) {
    try geometry.validate()
    self.geometry = geometry
    weight = Tensor(zeros: geometry.weightShape)
    self.bias = bias ? Tensor(zeros: [geometry.outChannels]) : nil
  }

  public func forward(_ x: Tensor, mode: ForwardMode) throws(TensorError) -> Tensor {
    recordedInput = mode.recordsForBackward ? x : nil
    recordedParameterGradients = mode.parameterGradients
    observedOutput = nil
    let y: Tensor
    if Conv2dAlgorithm(geometry) == .winograd {
      if winogradWeights == nil { winogradWeights = try winogradTransformWeights(weight, geometry: geometry) }
      y = try conv2d_forward(x, winogradWeights: winogradWeights!, bias: bias, geometry: geometry)
    } else {
      y = try conv2d_forward(x, weight: weight, bias: bias, geometry: geometry)
    }
    if mode.recordsForBackward, let observer = mode.backwardObserver { observedOutput = (y, observer) }
    return y
  }

  public func backward(_ dy: Tensor) throws(TensorError) -> Tensor {
    try backward(dy, computeInputGradient: true)!
  }

  /// The backward pass, skipping dx when `computeInputGradient` is false (a network's
  /// first convolution: nothing upstream needs it, and it costs as much as the forward).
  public func backward(_ dy: Tensor, computeInputGradient: Bool) throws(TensorError) -> Tensor? {
    guard let x = recordedInput else { throw missingRecord("Conv2d") }
    if let observedOutput {
      observedOutput.observer.observeOutputGradient(layer: self, output: observedOutput.output, dOutput: dy)
    }
    prepareGradient(&weightGradient, for: weight)
    if let bias { prepareGradient(&biasGradient, for: bias) }
    return try conv2d_backward(
      x, weight: weight, dOutput: dy, geometry: geometry, dWeight: &weightGradient!, dBias: &biasGradient,
      computeInputGradient: computeInputGradient, computeParameterGradients: recordedParameterGradients)
  }

  public func outputShapeAndMACs(input: [Int]) throws(TensorError) -> (shape: [Int], macs: Int) {
    guard input.count == 4, input[1] == geometry.inChannels else {
      throw .shapeMismatch("convolution over \(geometry.inChannels) channels got input \(input)")
    }
    let out = try geometry.outputSize(height: input[2], width: input[3])
    return ([input[0], geometry.outChannels, out.height, out.width],
            input[0] * geometry.macs(height: input[2], width: input[3]))
  }

  /// A leaf: its own tensors, no children.
  public var children: [(name: String, layer: Layer)] { [] }

  public func visitState(prefix: String, _ visit: (String, StateKind, inout Tensor) throws -> Void) rethrows {
    try visit(qualified(prefix, "weight"), .parameter, &weight)
    if bias != nil { try visit(qualified(prefix, "bias"), .parameter, &bias!) }
  }

  public func visitParameters(prefix: String, _ visit: (String, inout Tensor, inout Tensor) throws -> Void) rethrows {
    prepareGradient(&weightGradient, for: weight)
    try visit(qualified(prefix, "weight"), &weight, &weightGradient!)
    if bias != nil {
      prepareGradient(&biasGradient, for: bias!)
      try visit(qualified(prefix, "bias"), &bias!, &biasGradient!)
    }
  }

  public func zeroGradients() {
    zeroFill(&weightGradient)
    zeroFill(&biasGradient)
  }
}
