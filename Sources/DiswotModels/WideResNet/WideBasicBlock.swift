import DiswotTensor

/// RepDistiller's wide-ResNet block without dropout, pre-activation:
/// a = relu(bn1(x)); out = conv2(relu(bn2(conv1(a)))) + (x, or convShortcut(a) when the
/// width changes). The projection takes the activated input, not x: that is what
/// RepDistiller computes (it overwrites x with relu(bn1(x)) when the widths differ).
public final class WideBasicBlock: Layer {
  public let bn1: BatchNorm2d
  public let conv1: Conv2d
  public let bn2: BatchNorm2d
  public let conv2: Conv2d
  /// The strided 1×1 projection, present exactly when the widths differ (`convShortcut`).
  public let convShortcut: Conv2d?
  /// The last recording forward pass: both ReLU outputs (also the convolutions' inputs).
  private var record: (activated: Tensor, hidden: Tensor)?

  /// A block from `inChannels` to `outChannels`; RepDistiller strides only the first
  /// block of a stage, and projects only when the widths differ (never for the stride
  /// alone: its stage strides always change the width).
  public init(inChannels: Int, outChannels: Int, stride: Int) throws(TensorError) {
    bn1 = BatchNorm2d(channels: inChannels)
    conv1 = try Conv2d(Conv2dGeometry(inChannels: inChannels, outChannels: outChannels, kernel: 3, stride: stride, padding: 1))
    bn2 = BatchNorm2d(channels: outChannels)
    conv2 = try Conv2d(Conv2dGeometry(inChannels: outChannels, outChannels: outChannels, kernel: 3, stride: 1, padding: 1))
    if inChannels == outChannels {
      guard stride == 1 else {
        throw .invalidArgument("a wide-ResNet block of equal widths has an identity shortcut and cannot stride (\(stride))")
      }
      convShortcut = nil
    } else {
      convShortcut = try Conv2d(Conv2dGeometry(inChannels: inChannels, outChannels: outChannels, kernel: 1, stride: stride))
    }
  }

  /// x: [N, C_in, H, W] -> [N, C_out, H/stride, W/stride]
  public func forward(_ x: Tensor, mode: ForwardMode) throws(TensorError) -> Tensor {
    record = nil
    var activated = try bn1.forward(x, mode: mode)
    relu(&activated, mode)
    var hidden = try bn2.forward(try conv1.forward(activated, mode: mode), mode: mode)
    relu(&hidden, mode)
    var out = try conv2.forward(hidden, mode: mode)
    try add_forward(&out, try convShortcut?.forward(activated, mode: mode) ?? x)
    if mode.recordsForBackward { record = (activated, hidden) }
    return out
  }

  /// The output's gradient reaches the input along the shortcut (directly, or through
  /// the projection into the activated input, where it joins the residual branch's).
  public func backward(_ dy: Tensor) throws(TensorError) -> Tensor {
    guard let record else { throw missingRecord("WideBasicBlock") }
    let dHidden = try reluBackward(output: record.hidden, try conv2.backward(dy))
    var dActivated = try conv1.backward(try bn2.backward(dHidden))
    if let convShortcut { try add_forward(&dActivated, try convShortcut.backward(dy)) }
    var dx = try bn1.backward(try reluBackward(output: record.activated, dActivated))
    if convShortcut == nil { try add_forward(&dx, dy) }
    return dx
  }

  /// RepDistiller's registration order: bn1, conv1, bn2, conv2, convShortcut.
  public var children: [(name: String, layer: Layer)] {
    var children: [(name: String, layer: Layer)] = [("bn1", bn1), ("conv1", conv1), ("bn2", bn2), ("conv2", conv2)]
    if let convShortcut { children.append(("convShortcut", convShortcut)) }
    return children
  }

  public func outputShapeAndMACs(input: [Int]) throws(TensorError) -> (shape: [Int], macs: Int) {
    let a = try conv1.outputShapeAndMACs(input: input)
    let b = try conv2.outputShapeAndMACs(input: a.shape)
    return (b.shape, a.macs + b.macs + (try convShortcut?.outputShapeAndMACs(input: input).macs ?? 0))
  }
}
