import DiswotTensor

/// MobileNetV2's inverted residual block (Sandler et al. 2018): widen with a 1×1
/// convolution, filter each channel with a k×k depthwise convolution, project back with
/// a linear 1×1 convolution, and add the input when the shapes allow.
///
/// Named as torchvision's `InvertedResidual.conv` sequential: with expansion t ≠ 1,
/// `conv.0.{0,1}` expand, `conv.1.{0,1}` depthwise, `conv.2` project, `conv.3` its batch
/// norm; with t = 1 there is no expansion and the others move up one index.
public final class InvertedResidual: Layer {
  /// 1×1 to in·t channels + BN + ReLU6; nil when t = 1.
  public let expand: ConvBNReLU6?
  /// k×k depthwise (padding k/2, the block's stride) + BN + ReLU6.
  public let depthwise: ConvBNReLU6
  /// 1×1 to the output channels, then batch norm, no activation.
  public let project: Conv2d
  public let projectBN: BatchNorm2d
  /// stride 1 and in == out: the input is added to the output.
  public let residual: Bool
  /// Whether the last forward pass recorded for backward (the sub-layers keep the data).
  private var recorded = false

  public init(inChannels: Int, outChannels: Int, stride: Int, expansion: Int, kernel: Int) throws(TensorError) {
    let hidden = inChannels * expansion
    expand = expansion == 1 ? nil
      : try ConvBNReLU6(Conv2dGeometry(inChannels: inChannels, outChannels: hidden, kernel: 1))
    depthwise = try ConvBNReLU6(Conv2dGeometry(
      inChannels: hidden, outChannels: hidden, kernel: kernel, stride: stride, padding: kernel / 2, groups: hidden))
    project = try Conv2d(Conv2dGeometry(inChannels: hidden, outChannels: outChannels, kernel: 1))
    projectBN = BatchNorm2d(channels: outChannels)
    residual = stride == 1 && inChannels == outChannels
  }

  /// x: [N, C_in, H, W] -> [N, C_out, ceil(H/stride), ceil(W/stride)]
  public func forward(_ x: Tensor, mode: ForwardMode) throws(TensorError) -> Tensor {
    recorded = false
    var out = try expand?.forward(x, mode: mode) ?? x
    out = try depthwise.forward(out, mode: mode)
    out = try projectBN.forward(try project.forward(out, mode: mode), mode: mode)
    if residual { try add_forward(&out, x) }
    recorded = mode.recordsForBackward
    return out
  }

  public func backward(_ dy: Tensor) throws(TensorError) -> Tensor {
    guard recorded else { throw missingRecord("InvertedResidual") }
    var dx = try depthwise.backward(try project.backward(try projectBN.backward(dy)))
    if let expand { dx = try expand.backward(dx) }
    if residual { try add_forward(&dx, dy) }
    return dx
  }

  /// `conv.{i}`, numbered in order over the layers present.
  public var children: [(name: String, layer: Layer)] {
    let layers: [Layer] = (expand.map { [$0] } ?? []) + [depthwise, project, projectBN]
    return layers.enumerated().map { ("conv.\($0)", $1) }
  }

  public func outputShapeAndMACs(input: [Int]) throws(TensorError) -> (shape: [Int], macs: Int) {
    var (shape, macs) = try expand?.outputShapeAndMACs(input: input) ?? (input, 0)
    let d = try depthwise.outputShapeAndMACs(input: shape)
    let p = try project.outputShapeAndMACs(input: d.shape)
    macs += d.macs + p.macs
    return (p.shape, macs)
  }
}
