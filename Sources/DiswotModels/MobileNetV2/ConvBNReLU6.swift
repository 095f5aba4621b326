import DiswotTensor

/// Convolution (no bias) → batch norm → ReLU6, torchvision's `ConvNormActivation` as
/// MobileNetV2 uses it: named `0` (convolution) and `1` (batch norm) under its prefix,
/// the activation `2` having no state.
public final class ConvBNReLU6: Layer {
  public let conv: Conv2d
  public let bn: BatchNorm2d

  public init(_ geometry: Conv2dGeometry) throws(TensorError) {
    conv = try Conv2d(geometry)
    bn = BatchNorm2d(channels: geometry.outChannels)
  }

  /// x: [N, C_in, H, W] -> [N, C_out, H', W']
  public func forward(_ x: Tensor, mode: ForwardMode) throws(TensorError) -> Tensor {
    var out = try bn.forward(try conv.forward(x, mode: mode), mode: mode)
    relu6(&out, mode)
    return out
  }

  public var sublayers: [Layer] { [conv, bn] }

  public func outputShapeAndMACs(input: [Int]) throws(TensorError) -> (shape: [Int], macs: Int) {
    try conv.outputShapeAndMACs(input: input)
  }

  public func visitState(prefix: String, _ visit: (String, StateKind, inout Tensor) throws -> Void) rethrows {
    try conv.visitState(prefix: qualified(prefix, "0"), visit)
    try bn.visitState(prefix: qualified(prefix, "1"), visit)
  }
}
