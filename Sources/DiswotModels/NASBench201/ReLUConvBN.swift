import DiswotTensor

/// ReLU → convolution (no bias) → batch norm: NAS-Bench-201's `nor_conv_*` operations
/// and the halves of its reduction block (`ReLUConvBN` in AutoDL-Projects), named as its
/// `op` sequential: `op.1` the convolution, `op.2` the batch norm (`op.0` is the ReLU).
///
/// The ReLU works on a copy: the reference's is not in place, because the same node
/// feeds several edges and must reach the others unrectified.
public final class ReLUConvBN: Layer {
  public let conv: Conv2d
  public let bn: BatchNorm2d
  /// The rectified copy of the last recording forward pass's input (also the
  /// convolution's recorded input, so keeping it copies nothing).
  private var recordedRectified: Tensor?

  public init(_ geometry: Conv2dGeometry) throws(TensorError) {
    conv = try Conv2d(geometry)
    bn = BatchNorm2d(channels: geometry.outChannels)
  }

  /// x: [N, C_in, H, W] -> [N, C_out, H', W']
  public func forward(_ x: Tensor, mode: ForwardMode) throws(TensorError) -> Tensor {
    var rectified = x
    relu(&rectified, mode)
    recordedRectified = mode.recordsForBackward ? rectified : nil
    return try bn.forward(try conv.forward(rectified, mode: mode), mode: mode)
  }

  public func backward(_ dy: Tensor) throws(TensorError) -> Tensor {
    guard let rectified = recordedRectified else { throw missingRecord("ReLUConvBN") }
    return try reluBackward(output: rectified, try conv.backward(try bn.backward(dy)))
  }

  public var children: [(name: String, layer: Layer)] { [("op.1", conv), ("op.2", bn)] }

  public func outputShapeAndMACs(input: [Int]) throws(TensorError) -> (shape: [Int], macs: Int) {
    try conv.outputShapeAndMACs(input: input)
  }
}
