// 2-D convolution (cross-correlation, as in PyTorch) over NCHW images.
//
// With G groups, output channel o sees the C/G input channels of its group
// g(o) = o / (O/G):
//   y[n, o, oy, ox] = bias[o] + Σ_{c < C/G, ky, kx} weight[o, c, ky, kx]
//                     · x[n, g(o)·C/G + c, oy·sH + ky − pH, ox·sW + kx − pW]
// with zeros outside the image.
//
// `conv2d_forward` runs the kernel `Conv2dAlgorithm` picks for the geometry;
// `conv2d_forward_reference` is the naive definition that tests compare them against.

/// The kernel `conv2d_forward` uses for a geometry.
public enum Conv2dAlgorithm: String, Sendable {
  /// Winograd F(4x4, 3x3) (`Conv2dWinograd.swift`): 3x3, stride 1, one group, and at least
  /// one full vector of input channels — with fewer (an RGB stem) the padded channel
  /// vectors waste most of the transforms and im2col is faster (3->16 channels at 32x32:
  /// 0.43 ms against 0.76 ms per batch of 64).
  case winograd
  /// Direct loops (`Conv2dDepthwise.swift`): groups == in == out channels.
  case depthwise
  /// im2col + sgemm (`Conv2dIm2col.swift`): everything else.
  case im2col

  public init(_ g: Conv2dGeometry) {
    if WinogradWeights.supports(g) && g.inChannels >= WinogradLanes.scalarCount {
      self = .winograd
    } else if g.groups == g.inChannels && g.groups == g.outChannels {
      self = .depthwise
    } else {
      self = .im2col
    }
  }
}

/// input: [N, C, H, W], weight: [O, C/groups, kH, kW], bias: [O] or nil -> [N, O, outH, outW]
public func conv2d_forward(
  _ input: Tensor, weight: Tensor, bias: Tensor?, geometry: Conv2dGeometry
) throws(TensorError) -> Tensor {
  let shapes = try Conv2dShapes(input: input, weight: weight, bias: bias, geometry: geometry)
  switch Conv2dAlgorithm(geometry) {
  case .winograd:
    let transformed = try winogradTransformWeights(weight, geometry: geometry)
    return try winogradConv2d(input, weights: transformed, bias: bias, shapes: shapes)
  case .depthwise:
    return try depthwiseConv2d(input, weight: weight, bias: bias, shapes: shapes)
  case .im2col:
    return try im2colConv2d(input, weight: weight, bias: bias, shapes: shapes)
  }
}

/// The same convolution with weights already transformed by `winogradTransformWeights`,
/// so a layer can transform its kernel once per weight update instead of once per call.
///
/// input: [N, C, H, W], bias: [O] or nil -> [N, O, outH, outW]
public func conv2d_forward(
  _ input: Tensor, winogradWeights: WinogradWeights, bias: Tensor?, geometry: Conv2dGeometry
) throws(TensorError) -> Tensor {
  guard WinogradWeights.supports(geometry) else {
    throw .invalidArgument(
      "Winograd weights need a 3x3 stride-1 single-group geometry, got \(geometry)")
  }
  guard winogradWeights.inChannels == geometry.inChannels,
    winogradWeights.outChannels == geometry.outChannels
  else {
    throw .shapeMismatch(
      "Winograd weights for \(winogradWeights.inChannels)->\(winogradWeights.outChannels) channels, "
        + "geometry \(geometry.inChannels)->\(geometry.outChannels)")
  }
  let shapes = try Conv2dShapes(input: input, weight: nil, bias: bias, geometry: geometry)
  return try winogradConv2d(input, weights: winogradWeights, bias: bias, shapes: shapes)
}

/// Extents of one checked convolution call, shared by every kernel.
struct Conv2dShapes {
  let geometry: Conv2dGeometry
  /// input: [batch, geometry.inChannels, height, width]
  let batch, height, width: Int
  /// output: [batch, geometry.outChannels, outHeight, outWidth]
  let outHeight, outWidth: Int

  /// Output tensors larger than this are refused rather than attempted: 2^31 floats
  /// (8 GiB) is beyond any batch this engine is meant for, and the bound keeps every
  /// extent and leading dimension passed to BLAS within its 32-bit integers.
  static let maxOutputElements = Int(Int32.max)

  /// Checks every operand against the geometry (`weight` nil: checked elsewhere).
  init(input: Tensor, weight: Tensor?, bias: Tensor?, geometry g: Conv2dGeometry)
    throws(TensorError)
  {
    try g.validate()
    guard input.rank == 4 else {
      throw .shapeMismatch("conv2d input must be [N, C, H, W], got \(input.shape)")
    }
    guard input.c == g.inChannels else {
      throw .shapeMismatch(
        "conv2d input \(input.shape) has \(input.c) channels, geometry expects \(g.inChannels)")
    }
    if let weight, weight.shape != g.weightShape {
      throw .shapeMismatch("conv2d weight \(weight.shape), geometry expects \(g.weightShape)")
    }
    if let bias, bias.shape != [g.outChannels] {
      throw .shapeMismatch("conv2d bias \(bias.shape), expected [\(g.outChannels)]")
    }
    let out = try g.outputSize(height: input.h, width: input.w)
    let (count, overflow) = input.n.multipliedReportingOverflow(
      by: g.outChannels * out.height * out.width)
    guard !overflow, count <= Self.maxOutputElements else {
      throw .invalidArgument(
        "conv2d output [\(input.n), \(g.outChannels), \(out.height), \(out.width)] is too large")
    }
    geometry = g
    (batch, height, width) = (input.n, input.h, input.w)
    (outHeight, outWidth) = out
  }

  var outputShape: [Int] { [batch, geometry.outChannels, outHeight, outWidth] }
}

/// A tensor of `shape` whose elements `body` all writes; skips zero-filling memory that
/// the kernel overwrites anyway.
func makeTensor(
  shape: [Int], _ body: (UnsafeMutablePointer<Float>) -> Void
) throws(TensorError) -> Tensor {
  let count = shape.reduce(1, *)
  guard count > 0 else { return Tensor(zeros: shape) }
  let storage = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
    body(buffer.baseAddress!)
    initialized = count
  }
  return try Tensor(shape: shape, storage: storage)
}

/// Splits `count` work units into one contiguous range per worker, so that each worker
/// allocates its scratch buffers once per call rather than once per unit. Which unit
/// computes what does not depend on the worker count, so results do not either.
func forEachWorkerRange(_ count: Int, _ body: (Range<Int>) -> Void) {
  let workers = min(Parallel.threads, count)
  Parallel.forEach(workers) { w in
    body(count * w / workers..<count * (w + 1) / workers)
  }
}

/// `count` floats of zeroed scratch; the caller deallocates.
func allocateScratch(_ count: Int) -> UnsafeMutablePointer<Float> {
  let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
  p.initialize(repeating: 0, count: max(count, 1))
  return p
}

/// Row-major `c = a · b` on the calling thread (BLAS is single-threaded in the engine).
///
/// a: [m, k] with row stride `lda`, b: [k, n] with `ldb`, c: [m, n] with `ldc`
@inline(__always)
func sgemm(
  m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
  c: UnsafeMutablePointer<Float>, ldc: Int
) {
  BLAS.sgemm(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
}
