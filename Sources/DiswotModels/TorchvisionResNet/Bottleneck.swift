import DiswotTensor

/// torchvision's bottleneck block:
/// relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + downsample(x)), with the
/// stride on the 3×3 `conv2` ("ResNet v1.5") and an output 4× the block's width.
public final class Bottleneck: Layer {
  public let conv1: Conv2d
  public let bn1: BatchNorm2d
  public let conv2: Conv2d
  public let bn2: BatchNorm2d
  public let conv3: Conv2d
  public let bn3: BatchNorm2d
  /// The projection shortcut (`downsample.0`, `downsample.1`), when the stride or the
  /// width changes; the identity otherwise.
  public let downsample: (conv: Conv2d, bn: BatchNorm2d)?
  /// The last recording forward pass: both inner ReLUs' outputs and the block's output
  /// (after its final ReLU), each the next layer's input, so keeping them copies nothing.
  private var record: (hidden1: Tensor, hidden2: Tensor, output: Tensor)?

  public init(inChannels: Int, width: Int, stride: Int) throws(TensorError) {
    let out = width * ResNetBlockKind.bottleneck.expansion
    conv1 = try Conv2d(Conv2dGeometry(inChannels: inChannels, outChannels: width, kernel: 1))
    bn1 = BatchNorm2d(channels: width)
    conv2 = try Conv2d(Conv2dGeometry(inChannels: width, outChannels: width, kernel: 3, stride: stride, padding: 1))
    bn2 = BatchNorm2d(channels: width)
    conv3 = try Conv2d(Conv2dGeometry(inChannels: width, outChannels: out, kernel: 1))
    bn3 = BatchNorm2d(channels: out)
    downsample = stride != 1 || inChannels != out
      ? (try Conv2d(Conv2dGeometry(inChannels: inChannels, outChannels: out, kernel: 1, stride: stride)), BatchNorm2d(channels: out))
      : nil
  }

  /// x: [N, C_in, H, W] -> [N, 4·width, H/stride, W/stride]
  public func forward(_ x: Tensor, mode: ForwardMode) throws(TensorError) -> Tensor {
    record = nil
    var out = try bn1.forward(try conv1.forward(x, mode: mode), mode: mode)
    relu(&out, mode)
    let hidden1 = out
    out = try bn2.forward(try conv2.forward(out, mode: mode), mode: mode)
    relu(&out, mode)
    let hidden2 = out
    out = try bn3.forward(try conv3.forward(out, mode: mode), mode: mode)
    if let downsample {
      try add_forward(&out, try downsample.bn.forward(try downsample.conv.forward(x, mode: mode), mode: mode))
    } else {
      try add_forward(&out, x)
    }
    relu(&out, mode)
    if mode.recordsForBackward { record = (hidden1, hidden2, out) }
    return out
  }

  /// As `BasicBlock.backward`: the sum's gradient reaches the input along the residual
  /// branch and the shortcut, and the two add.
  public func backward(_ dy: Tensor) throws(TensorError) -> Tensor {
    guard let record else { throw missingRecord("Bottleneck") }
    let dSum = try reluBackward(output: record.output, dy)
    var d = try reluBackward(output: record.hidden2, try conv3.backward(try bn3.backward(dSum)))
    d = try reluBackward(output: record.hidden1, try conv2.backward(try bn2.backward(d)))
    var dx = try conv1.backward(try bn1.backward(d))
    if let downsample {
      try add_forward(&dx, try downsample.conv.backward(try downsample.bn.backward(dSum)))
    } else {
      try add_forward(&dx, dSum)
    }
    return dx
  }

  public var children: [(name: String, layer: Layer)] {
    var children: [(name: String, layer: Layer)] = [
      ("conv1", conv1), ("bn1", bn1), ("conv2", conv2), ("bn2", bn2), ("conv3", conv3), ("bn3", bn3),
    ]
    if let downsample { children += [("downsample.0", downsample.conv), ("downsample.1", downsample.bn)] }
    return children
  }

  public func outputShapeAndMACs(input: [Int]) throws(TensorError) -> (shape: [Int], macs: Int) {
    let a = try conv1.outputShapeAndMACs(input: input)
    let b = try conv2.outputShapeAndMACs(input: a.shape)
    let c = try conv3.outputShapeAndMACs(input: b.shape)
    var macs = a.macs + b.macs + c.macs
    if let downsample { macs += try downsample.conv.outputShapeAndMACs(input: input).macs }
    return (c.shape, macs)
  }
}
