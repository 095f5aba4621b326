import DiswotTensor

/// Convolution (no bias) → batch norm → ReLU6, torchvision's `ConvNormActivation` as
/// MobileNetV2 uses it: named `0` (convolution) and `1` (batch norm) under its prefix,
/// the activation `2` having no state.
public final class ConvBNReLU6: Layer {
  public let conv: Conv2d
  public let bn: BatchNorm2d
  /// The output (after ReLU6) of the last recording forward pass.
  private var recordedOutput: Tensor?

  public init(_ geometry: Conv2dGeometry) throws(TensorError) {
    conv = try Conv2d(geometry)
    bn = BatchNorm2d(channels: geometry.outChannels)
  }

  /// x: [N, C_in, H, W] -> [N, C_out, H', W']
  public func forward(_ x: Tensor, mode: ForwardMode) throws(TensorError) -> Tensor {
    var out = try bn.forward(try conv.forward(x, mode: mode), mode: mode)
    relu6(&out, mode)
    recordedOutput = mode.recordsForBackward ? out : nil
    return out
  }

  public func backward(_ dy: Tensor) throws(TensorError) -> Tensor {
    try backward(dy, computeInputGradient: true)!
  }

  /// The backward pass, skipping dx when `computeInputGradient` is false (a stem).
  public func backward(_ dy: Tensor, computeInputGradient: Bool) throws(TensorError) -> Tensor? {
    guard let output = recordedOutput else { throw missingRecord("ConvBNReLU6") }
    let d = try bn.backward(try relu6Backward(output: output, dy))
    return try conv.backward(d, computeInputGradient: computeInputGradient)
  }

  public var children: [(name: String, layer: Layer)] { [("0", conv), ("1", bn)] }

  public func outputShapeAndMACs(input: [Int]) throws(TensorError) -> (shape: [Int], macs: Int) {
    try conv.outputShapeAndMACs(input: input)
  }
}
