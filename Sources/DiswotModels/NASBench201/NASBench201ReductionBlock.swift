import DiswotTensor

/// The fixed residual block between NAS-Bench-201's stages (`ResNetBasicblock` with
/// stride 2 in AutoDL-Projects' `cell_operations.py`): halves the resolution and
/// changes the width, the same in all 15 625 networks.
///
/// output = downsample(x) + conv_b(conv_a(x)), no ReLU after the sum; conv_a and conv_b
/// are ReLU → 3×3 convolution → batch norm, downsample is a 2×2 average (stride 2) then
/// a 1×1 convolution without batch norm (`downsample.0`, `downsample.1`).
public final class NASBench201ReductionBlock: Layer {
  public let convA: ReLUConvBN
  public let convB: ReLUConvBN
  /// `downsample.1`, applied after the parameter-free `downsample.0` average pool.
  public let downsample: Conv2d
  /// The input shape of the last recording forward pass.
  private var recordedShape: [Int]?

  static let pool = Pool2dGeometry(kernel: 2, stride: 2)

  public init(inChannels: Int, outChannels: Int) throws(TensorError) {
    convA = try ReLUConvBN(Conv2dGeometry(inChannels: inChannels, outChannels: outChannels, kernel: 3, stride: 2, padding: 1))
    convB = try ReLUConvBN(Conv2dGeometry(inChannels: outChannels, outChannels: outChannels, kernel: 3, padding: 1))
    downsample = try Conv2d(Conv2dGeometry(inChannels: inChannels, outChannels: outChannels, kernel: 1))
  }

  /// x: [N, C_in, H, W] -> [N, C_out, H/2, W/2] (even H and W; odd ones leave the two
  /// branches a row apart, which the sum rejects, as in PyTorch)
  public func forward(_ x: Tensor, mode: ForwardMode) throws(TensorError) -> Tensor {
    recordedShape = nil
    var out = try convB.forward(try convA.forward(x, mode: mode), mode: mode)
    try add_forward(&out, try downsample.forward(try avgpool2d_forward(x, geometry: Self.pool), mode: mode))
    if mode.recordsForBackward { recordedShape = x.shape }
    return out
  }

  /// Both branches start from the input, so their gradients add there.
  public func backward(_ dy: Tensor) throws(TensorError) -> Tensor {
    guard let shape = recordedShape else { throw missingRecord("NASBench201ReductionBlock") }
    var dx = try convA.backward(try convB.backward(dy))
    try add_forward(&dx, try avgpool2d_backward(try downsample.backward(dy), inputShape: shape, geometry: Self.pool))
    return dx
  }

  public var children: [(name: String, layer: Layer)] { [("conv_a", convA), ("conv_b", convB), ("downsample.1", downsample)] }

  /// Convolution MACs only; the pooling and the sum are not counted.
  public func outputShapeAndMACs(input: [Int]) throws(TensorError) -> (shape: [Int], macs: Int) {
    let a = try convA.outputShapeAndMACs(input: input)
    let b = try convB.outputShapeAndMACs(input: a.shape)
    guard input.count == 4 else { throw .shapeMismatch("reduction block needs [N, C, H, W], got \(input)") }
    let pooled = [input[0], input[1], try Self.pool.outputSize(input[2]), try Self.pool.outputSize(input[3])]
    let d = try downsample.outputShapeAndMACs(input: pooled)
    guard d.shape == b.shape else {
      throw .shapeMismatch("reduction block on \(input): residual \(d.shape) and branch \(b.shape) differ (odd size)")
    }
    return (b.shape, a.macs + b.macs + d.macs)
  }
}
