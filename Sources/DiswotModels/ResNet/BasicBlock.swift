import DiswotTensor

/// The residual block of CIFAR ResNets: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)).
public final class BasicBlock: Layer {
  /// How the block's input reaches its output.
  public enum Shortcut {
    case identity
    /// Subsample by `stride`, zero-pad to `outChannels`.
    case optionA(outChannels: Int, stride: Int)
    /// 1×1 convolution with stride, then batch norm (`downsample.0`, `downsample.1`).
    case optionB(Conv2d, BatchNorm2d)
  }

  public let conv1: Conv2d
  public let bn1: BatchNorm2d
  public let conv2: Conv2d
  public let bn2: BatchNorm2d
  public let shortcut: Shortcut
  /// The last recording forward pass: the first ReLU's output, the block's output (after
  /// its final ReLU) and the input's shape (for the option-A shortcut's gradient). Both
  /// tensors are also the next layers' inputs, so keeping them copies nothing.
  private var record: (hidden: Tensor, output: Tensor, inputShape: [Int])?

  /// A block from `inChannels` to `outChannels`; a projection or padding shortcut is
  /// used only when the stride or the width changes, as in both reference codes.
  public init(inChannels: Int, outChannels: Int, stride: Int, shortcut type: ShortcutType) throws(TensorError) {
    conv1 = try Conv2d(Conv2dGeometry(inChannels: inChannels, outChannels: outChannels, kernel: 3, stride: stride, padding: 1))
    bn1 = BatchNorm2d(channels: outChannels)
    conv2 = try Conv2d(Conv2dGeometry(inChannels: outChannels, outChannels: outChannels, kernel: 3, stride: 1, padding: 1))
    bn2 = BatchNorm2d(channels: outChannels)
    if stride == 1 && inChannels == outChannels {
      shortcut = .identity
    } else if type == .a {
      shortcut = .optionA(outChannels: outChannels, stride: stride)
    } else {
      shortcut = .optionB(
        try Conv2d(Conv2dGeometry(inChannels: inChannels, outChannels: outChannels, kernel: 1, stride: stride)),
        BatchNorm2d(channels: outChannels))
    }
  }

  /// x: [N, C_in, H, W] -> [N, C_out, H/stride, W/stride]
  public func forward(_ x: Tensor, mode: ForwardMode) throws(TensorError) -> Tensor {
    record = nil
    var out = try bn1.forward(try conv1.forward(x, mode: mode), mode: mode)
    relu(&out, mode)
    let hidden = out
    out = try bn2.forward(try conv2.forward(out, mode: mode), mode: mode)
    switch shortcut {
    case .identity:
      try add_forward(&out, x)
    case .optionA(let channels, let stride):
      try add_forward(&out, try shortcut_a_forward(x, outChannels: channels, stride: stride))
    case .optionB(let conv, let bn):
      try add_forward(&out, try bn.forward(try conv.forward(x, mode: mode), mode: mode))
    }
    relu(&out, mode)
    if mode.recordsForBackward { record = (hidden, out, x.shape) }
    return out
  }

  /// The sum before the last ReLU feeds both the residual branch and the shortcut, so
  /// its gradient reaches the input along both and the two add.
  public func backward(_ dy: Tensor) throws(TensorError) -> Tensor {
    guard let record else { throw missingRecord("BasicBlock") }
    let dSum = try reluBackward(output: record.output, dy)
    let dHidden = try reluBackward(output: record.hidden, try conv2.backward(try bn2.backward(dSum)))
    var dx = try conv1.backward(try bn1.backward(dHidden))
    switch shortcut {
    case .identity:
      try add_forward(&dx, dSum)
    case .optionA(_, let stride):
      try add_forward(&dx, try shortcut_a_backward(dSum, inputShape: record.inputShape, stride: stride))
    case .optionB(let conv, let bn):
      try add_forward(&dx, try conv.backward(try bn.backward(dSum)))
    }
    return dx
  }

  public var children: [(name: String, layer: Layer)] {
    var children: [(name: String, layer: Layer)] = [("conv1", conv1), ("bn1", bn1), ("conv2", conv2), ("bn2", bn2)]
    if case .optionB(let conv, let bn) = shortcut { children += [("downsample.0", conv), ("downsample.1", bn)] }
    return children
  }

  public func outputShapeAndMACs(input: [Int]) throws(TensorError) -> (shape: [Int], macs: Int) {
    let a = try conv1.outputShapeAndMACs(input: input)
    let b = try conv2.outputShapeAndMACs(input: a.shape)
    var macs = a.macs + b.macs
    if case .optionB(let conv, _) = shortcut { macs += try conv.outputShapeAndMACs(input: input).macs }
    return (b.shape, macs)
  }
}
