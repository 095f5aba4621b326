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
/// x: [N, C, H, W] -> y: [N, C, OH, OW]
public func avgpool2d_forward(
  _ x: Tensor, geometry g: Pool2dGeometry, countIncludePad: Bool = true
) throws(TensorError) -> Tensor {
  let inv = 1 / Float(g.kernel * g.kernel)
  return try pool2d(x, g) { src, h, w, oy, ox in
    let y0 = oy * g.stride - g.padding, x0 = ox * g.stride - g.padding
    let (ys, ye) = (max(y0, 0), min(y0 + g.kernel, h))
    let (xs, xe) = (max(x0, 0), min(x0 + g.kernel, w))
    var sum: Float = 0
    for iy in ys..<ye {
      for ix in xs..<xe { sum += src[iy * w + ix] }
    }
    return countIncludePad ? sum * inv : sum / Float((ye - ys) * (xe - xs))
  }
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
