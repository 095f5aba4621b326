/// Spatial pooling over NCHW tensors, with PyTorch's semantics.

/// Window geometry shared by max and average pooling.
public struct Pool2dGeometry: Sendable, Equatable, Codable {
  public var kernel: Int
  public var stride: Int
  public var padding: Int

  public init(kernel: Int, stride: Int? = nil, padding: Int = 0) {
    self.kernel = kernel
    self.stride = stride ?? kernel
    self.padding = padding
  }

  /// Output extent of one spatial dimension (floor mode, as PyTorch's default).
  public func outputSize(_ input: Int) throws(TensorError) -> Int {
    guard kernel > 0, stride > 0, padding >= 0, padding * 2 <= kernel else {
      throw .invalidArgument("pooling kernel \(kernel), stride \(stride), padding \(padding)")
    }
    let out = (input + 2 * padding - kernel) / stride + 1
    guard input + 2 * padding >= kernel, out > 0 else {
      throw .shapeMismatch("pooling window \(kernel) does not fit input extent \(input) with padding \(padding)")
    }
    return out
  }

  /// The in-image positions `start..<end` that output position `o` of one spatial
  /// dimension pools over (padding excluded). For an extent `outputSize` accepted, a
  /// window is never all padding, so the range is never empty.
  @inline(__always)
  func window(_ o: Int, extent: Int) -> (start: Int, end: Int) {
    let first = o * stride - padding
    return (max(first, 0), min(first + kernel, extent))
  }

  /// 1 / each output's divisor, [OH·OW] for an H×W input: the divisor is kernel² with
  /// `countIncludePad`, else how many in-image positions the window covers. A multiply
  /// by it vectorises where a divide is several times slower; it differs from the divide
  /// by at most an ulp.
  func inverseDivisors(height: Int, width: Int, countIncludePad: Bool) throws(TensorError) -> [Float] {
    let (oh, ow) = (try outputSize(height), try outputSize(width))
    var inverses = [Float](repeating: 1 / Float(kernel * kernel), count: oh * ow)
    guard !countIncludePad else { return inverses }
    for oy in 0..<oh {
      let (ys, ye) = window(oy, extent: height)
      for ox in 0..<ow {
        let (xs, xe) = window(ox, extent: width)
        inverses[oy * ow + ox] = 1 / Float((ye - ys) * (xe - xs))
      }
    }
    return inverses
  }

  /// The output positions, among `count`, whose window's tap `tap` (0..<kernel) lands
  /// inside the extent: `o` reads input `o·stride + tap − padding`. Lets a pass add one
  /// tap to a whole row of outputs without testing bounds per output.
  func outputs(tap: Int, count: Int, extent: Int) -> Range<Int> {
    // 0 ≤ o·stride + tap − padding < extent
    let low = padding - tap, high = extent - 1 + padding - tap
    let first = low > 0 ? (low + stride - 1) / stride : 0
    let end = high < 0 ? 0 : min(count, high / stride + 1)
    return first..<max(first, end)
  }
}

/// Max over each window; padded positions never win (they count as -inf).
/// x: [N, C, H, W] -> y: [N, C, OH, OW]
public func maxpool2d_forward(_ x: Tensor, geometry g: Pool2dGeometry) throws(TensorError) -> Tensor {
  try pool2d(x, g) { src, h, w, oy, ox in
    var best = -Float.infinity
    for ky in 0..<g.kernel {
      let iy = oy * g.stride - g.padding + ky
      guard iy >= 0 && iy < h else { continue }
      for kx in 0..<g.kernel {
        let ix = ox * g.stride - g.padding + kx
        guard ix >= 0 && ix < w else { continue }
        best = max(best, src[iy * w + ix])
      }
    }
    return best
  }
}

/// Mean over each window.
///
/// With `countIncludePad` (PyTorch's `count_include_pad=True` default) the divisor is the
/// full window size, padded zeros included; without it, only the positions inside the
/// image count, so border outputs are true means of what they see (NAS-Bench-201's
/// `avg_pool_3x3` uses `count_include_pad=False`). In floor mode a window never extends
/// past the padded input, so the full size is always kernel².
///
/// The window is a box, so the sum is separable. For each output row, the input rows its
/// window covers are summed column by column; then each of the window's `kernel` column
/// taps is added to the whole output row at once (`Pool2dGeometry.outputs(tap:)`), and
/// the row is scaled by its divisors' inverses. Every loop is contiguous for stride 1 and tests
/// no bounds inside, so it vectorises; NAS-Bench-201's cells pool every 3×3 edge, where
/// the per-window loop of `avgpool2d_forward_reference` cost as much as the convolutions.
/// The sums are taken in a different order than the reference's, and multiplied by the
/// divisors' inverses instead of divided, so results agree to rounding, not bit for bit.
/// x: [N, C, H, W] -> y: [N, C, OH, OW]
public func avgpool2d_forward(
  _ x: Tensor, geometry g: Pool2dGeometry, countIncludePad: Bool = true
) throws(TensorError) -> Tensor {
  guard x.rank == 4 else { throw .shapeMismatch("pooling needs [N, C, H, W], got \(x.shape)") }
  let (h, w) = (x.h, x.w)
  let (oh, ow) = (try g.outputSize(h), try g.outputSize(w))
  let inverses = try g.inverseDivisors(height: h, width: w, countIncludePad: countIncludePad)
  let taps = (0..<g.kernel).map { g.outputs(tap: $0, count: ow, extent: w) }
  var y = Tensor(zeros: [x.n, x.c, oh, ow])
  x.withUnsafeBufferPointer { xp in
    y.withUnsafeMutableBufferPointer { yp in
      let (xb, yb) = (xp.baseAddress!, yp.baseAddress!)
      Parallel.forEach(x.n * x.c) { plane in
        let src = xb + plane * h * w
        withUnsafeTemporaryAllocation(of: Float.self, capacity: w) { buffer in
          let sums = buffer.baseAddress!
          for oy in 0..<oh {
            let (ys, ye) = g.window(oy, extent: h)
            // sums[ix] = Σ over the window's rows of x[iy, ix]  (ys < ye: never all padding)
            sums.update(from: src + ys * w, count: w)
            for iy in (ys + 1)..<ye {
              let row = src + iy * w
              for ix in 0..<w { sums[ix] += row[ix] }
            }
            // out[ox] = Σ over taps j of sums[ox·stride + j − padding] (zero rows: y's storage)
            let out = yb + (plane * oh + oy) * ow
            for (j, range) in taps.enumerated() {
              let shift = j - g.padding
              if g.stride == 1 {
                for ox in range { out[ox] += sums[ox + shift] }
              } else {
                for ox in range { out[ox] += sums[ox * g.stride + shift] }
              }
            }
            inverses.withUnsafeBufferPointer { d in
              let row = d.baseAddress! + oy * ow
              for ox in 0..<ow { out[ox] *= row[ox] }
            }
          }
        }
      }
    }
  }
  return y
}

/// Runs `window` for every output position of every (image, channel) plane.
@inline(__always)
private func pool2d(
  _ x: Tensor, _ g: Pool2dGeometry,
  _ window: (UnsafePointer<Float>, Int, Int, Int, Int) -> Float
) throws(TensorError) -> Tensor {
  guard x.rank == 4 else { throw .shapeMismatch("pooling needs [N, C, H, W], got \(x.shape)") }
  let (h, w) = (x.h, x.w)
  let (oh, ow) = (try g.outputSize(h), try g.outputSize(w))
  var y = Tensor(zeros: [x.n, x.c, oh, ow])
  x.withUnsafeBufferPointer { xp in
    y.withUnsafeMutableBufferPointer { yp in
      let (xb, yb) = (xp.baseAddress!, yp.baseAddress!)
      Parallel.forEach(x.n * x.c) { plane in
        let src = xb + plane * h * w, dst = yb + plane * oh * ow
        for oy in 0..<oh {
          for ox in 0..<ow { dst[oy * ow + ox] = window(src, h, w, oy, ox) }
        }
      }
    }
  }
  return y
}

/// Mean over all spatial positions of each channel.
/// x: [N, C, H, W] -> y: [N, C]
public func global_avgpool_forward(_ x: Tensor) throws(TensorError) -> Tensor {
  guard x.rank == 4 else { throw .shapeMismatch("global pooling needs [N, C, H, W], got \(x.shape)") }
  let hw = x.h * x.w
  var y = Tensor(zeros: [x.n, x.c])
  x.withUnsafeBufferPointer { xp in
    y.withUnsafeMutableBufferPointer { yp in
      let inv = 1 / Float(hw)
      for plane in 0..<(x.n * x.c) {
        let src = xp.baseAddress! + plane * hw
        var sum: Float = 0
        for i in 0..<hw { sum += src[i] }
        yp[plane] = sum * inv
      }
    }
  }
  return y
}
