/// The hyper-parameters of a 2-D convolution layer, independent of batch and image size.
///
/// Weights use PyTorch's layout `[out, in/groups, kH, kW]` so checkpoints map one to one.
public struct Conv2dGeometry: Sendable, Equatable, Codable {
  public var inChannels: Int
  public var outChannels: Int
  public var kernelH: Int
  public var kernelW: Int
  public var strideH: Int
  public var strideW: Int
  public var padH: Int
  public var padW: Int
  public var groups: Int

  /// Largest channel count accepted; far above any real layer, low enough that products
  /// of sizes cannot overflow.
  public static let maxChannels = 1 << 16
  /// Largest kernel extent (and stride) accepted.
  public static let maxKernel = 15

  /// A square convolution (the common case).
  public init(
    inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
    groups: Int = 1
  ) {
    self.inChannels = inChannels
    self.outChannels = outChannels
    self.kernelH = kernel
    self.kernelW = kernel
    self.strideH = stride
    self.strideW = stride
    self.padH = padding
    self.padW = padding
    self.groups = groups
  }

  /// Checks that the geometry describes a convolution the kernels can run.
  ///
  /// Padding must stay below the kernel extent: larger padding only adds borders that
  /// see no input at all, and `kernel - 1` is exactly what a later "full" convolution
  /// (the input gradient) needs.
  public func validate() throws(TensorError) {
    let limit = Self.maxChannels
    let k = Self.maxKernel
    guard (1...limit).contains(inChannels), (1...limit).contains(outChannels) else {
      throw .invalidArgument(
        "conv2d channels must be in 1...\(limit), got in \(inChannels), out \(outChannels)")
    }
    guard (1...k).contains(kernelH), (1...k).contains(kernelW) else {
      throw .invalidArgument("conv2d kernel must be in 1...\(k), got \(kernelH)x\(kernelW)")
    }
    guard (1...k).contains(strideH), (1...k).contains(strideW) else {
      throw .invalidArgument("conv2d stride must be in 1...\(k), got \(strideH)x\(strideW)")
    }
    guard (0..<kernelH).contains(padH), (0..<kernelW).contains(padW) else {
      throw .invalidArgument(
        "conv2d padding must be below the kernel extent \(kernelH)x\(kernelW), got \(padH)x\(padW)")
    }
    guard groups >= 1, inChannels % groups == 0, outChannels % groups == 0 else {
      throw .invalidArgument(
        "conv2d groups \(groups) must divide in \(inChannels) and out \(outChannels) channels")
    }
  }

  /// Output extent for an input of `height` x `width`; throws when the geometry is
  /// invalid or the padded input is smaller than the kernel.
  public func outputSize(height: Int, width: Int) throws(TensorError) -> (height: Int, width: Int) {
    try validate()
    guard height >= 1, width >= 1 else {
      throw .invalidArgument("conv2d input must be at least 1x1, got \(height)x\(width)")
    }
    let paddedH = height + 2 * padH
    let paddedW = width + 2 * padW
    guard paddedH >= kernelH, paddedW >= kernelW else {
      throw .shapeMismatch(
        "conv2d input \(height)x\(width) padded by \(padH)x\(padW) is smaller than the kernel \(kernelH)x\(kernelW)"
      )
    }
    return ((paddedH - kernelH) / strideH + 1, (paddedW - kernelW) / strideW + 1)
  }

  /// `[out, in/groups, kH, kW]` (PyTorch layout).
  /// (A geometry with no groups, which `validate` rejects, reports one group.)
  public var weightShape: [Int] { [outChannels, inChannels / max(groups, 1), kernelH, kernelW] }

  /// Multiply-accumulates per image of a direct convolution: the work measure that
  /// throughput figures use, whatever algorithm actually runs. Zero for an invalid geometry or an input
  /// too small for the kernel.
  public func macs(height: Int, width: Int) -> Int {
    guard let out = try? outputSize(height: height, width: width) else { return 0 }
    return out.height * out.width * outChannels * (inChannels / groups) * kernelH * kernelW
  }
}
