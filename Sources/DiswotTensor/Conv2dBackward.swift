// Gradients of the 2-D convolution (`Conv2d.swift`) with respect to its input, weight
// and bias, given the gradient dy of a scalar loss with respect to its output:
//   dBias[o]   = Σ_{n, oy, ox} dy[n, o, oy, ox]
//   dWeight[o, c, ky, kx] = Σ_{n, oy, ox} dy[n, o, oy, ox] · x[n, g(o)·C/G + c, oy·sH + ky − pH, ox·sW + kx − pW]
//   dx[n, g·C/G + c, iy, ix] = Σ over every (o, oy, ox, ky, kx) of group g whose tap lands on
//                             (iy, ix) of weight[o, c, ky, kx] · dy[n, o, oy, ox]
//
// Per image, with the column matrix col = im2col(x) that the forward pass multiplies:
// dWeight = dy_mat · colᵀ and dcol = Wᵀ · dy_mat, folded back by col2im (the adjoint of
// im2col, a scatter-add). Faster routes where the geometry allows:
// - 3x3 stride-1 single-group convolutions (those whose forward pass runs Winograd):
//   dWeight in the Winograd domain (`Conv2dWinogradBackward.swift`);
// - stride-1 single-group convolutions: dx is itself a forward convolution of dy with
//   the kernel flipped in space and its channel axes swapped, padded by k − 1 − p; for
//   3x3 kernels that runs on the Winograd kernel, the engine's fastest;
// - depthwise convolutions: direct loops (`Conv2dDepthwiseBackward.swift`).
//
// Gradients of parameters ACCUMULATE (`+=`) into caller-owned tensors, so one buffer
// serves every step and a layer applied twice sums both contributions (or are skipped,
// leaving those tensors untouched, for a pass that wants only dx: jacob_cov's Jacobian);
// dx is returned fresh (or skipped, for a network's first layer).

/// input: [N, C, H, W], weight: [O, C/groups, kH, kW], dOutput: [N, O, outH, outW]
/// dWeight: [O, C/groups, kH, kW] (+=), dBias: [O] (+=) or nil, both untouched when
/// `computeParameterGradients` is false -> dInput: [N, C, H, W], or nil when
/// `computeInputGradient` is false
public func conv2d_backward(
  _ input: Tensor, weight: Tensor, dOutput: Tensor, geometry: Conv2dGeometry,
  dWeight: inout Tensor, dBias: inout Tensor?, computeInputGradient: Bool = true,
  computeParameterGradients: Bool = true
) throws(TensorError) -> Tensor? {
  let s = try Conv2dShapes(input: input, weight: weight, bias: nil, geometry: geometry)
  try checkConv2dGradientShapes(s, dOutput: dOutput, dWeight: dWeight, dBias: dBias)
  if dBias != nil && computeParameterGradients { conv2dBiasGradient(dOutput, into: &dBias!) }
  guard s.batch > 0 else { return computeInputGradient ? Tensor(zeros: input.shape) : nil }

  let algorithm = Conv2dAlgorithm(geometry)
  if algorithm == .depthwise {
    return depthwiseConv2dBackward(
      input, weight: weight, dOutput: dOutput, shapes: s, dWeight: &dWeight,
      computeInputGradient: computeInputGradient, computeWeightGradient: computeParameterGradients)
  }
  // The weight gradient in the Winograd domain wherever the forward pass runs there; the
  // input gradient as a flipped-kernel forward convolution wherever that runs there.
  let winogradWeight = algorithm == .winograd
  let transposed = computeInputGradient ? transposedConv2dGeometry(geometry) : nil
  let winogradInput = transposed.map { Conv2dAlgorithm($0) == .winograd } ?? false
  if winogradWeight && computeParameterGradients {
    winogradConv2dWeightGradient(input, dOutput: dOutput, shapes: s, dWeight: &dWeight)
  }
  var dx: Tensor? = nil
  let im2colWeight = computeParameterGradients && !winogradWeight
  let im2colInput = computeInputGradient && !winogradInput
  if im2colWeight || im2colInput {
    dx = im2colConv2dBackward(
      input, weight: weight, dOutput: dOutput, shapes: s, dWeight: &dWeight,
      computeWeightGradient: im2colWeight, computeInputGradient: im2colInput)
  }
  if winogradInput, let transposed {
    let flipped = transposedConv2dWeight(weight, geometry: geometry)
    return try conv2d_forward(dOutput, weight: flipped, bias: nil, geometry: transposed)
  }
  return dx
}

private func checkConv2dGradientShapes(
  _ s: Conv2dShapes, dOutput: Tensor, dWeight: Tensor, dBias: Tensor?
) throws(TensorError) {
  guard dOutput.shape == s.outputShape else {
    throw .shapeMismatch("conv2d output gradient \(dOutput.shape), expected \(s.outputShape)")
  }
  guard dWeight.shape == s.geometry.weightShape else {
    throw .shapeMismatch(
      "conv2d weight gradient \(dWeight.shape), geometry expects \(s.geometry.weightShape)")
  }
  if let dBias, dBias.shape != [s.geometry.outChannels] {
    throw .shapeMismatch("conv2d bias gradient \(dBias.shape), expected [\(s.geometry.outChannels)]")
  }
}

/// dBias[o] += Σ_{n, pixels} dy[n, o, :]: per plane in Float lanes, across planes in Double.
///
/// dOutput: [N, O, outH, outW], dBias: [O]
private func conv2dBiasGradient(_ dOutput: Tensor, into dBias: inout Tensor) {
  let (n, o, plane) = (dOutput.n, dOutput.c, dOutput.h * dOutput.w)
  dOutput.withUnsafeBufferPointer { dy in
    dBias.withUnsafeMutableBufferPointer { db in
      for ch in 0..<o {
        var total = 0.0
        for img in 0..<n { total += Double(planeSum(dy.baseAddress! + (img * o + ch) * plane, plane)) }
        db[ch] += Float(total)
      }
    }
  }
}

/// Σ p[0..<count] with eight running lanes, so the loop vectorises.
@inline(__always)
func planeSum(_ p: UnsafePointer<Float>, _ count: Int) -> Float {
  let lanes = count / 8 * 8
  var acc = SIMD8<Float>()
  for i in stride(from: 0, to: lanes, by: 8) {
    acc += UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
  }
  var total = acc.sum()
  for i in lanes..<count { total += p[i] }
  return total
}

// MARK: - Input gradient as a forward convolution

/// The geometry of dx = conv(dy, W̃) for a stride-1 single-group convolution (nil for any
/// other): O -> C channels, the same kernel, padding k − 1 − p (valid: p < k).
func transposedConv2dGeometry(_ g: Conv2dGeometry) -> Conv2dGeometry? {
  guard g.strideH == 1, g.strideW == 1, g.groups == 1 else { return nil }
  var t = g
  (t.inChannels, t.outChannels) = (g.outChannels, g.inChannels)
  (t.padH, t.padW) = (g.kernelH - 1 - g.padH, g.kernelW - 1 - g.padW)
  return t
}

/// W̃[c, o, ky, kx] = W[o, c, kH − 1 − ky, kW − 1 − kx].
///
/// weight: [O, C, kH, kW] -> [C, O, kH, kW]
func transposedConv2dWeight(_ weight: Tensor, geometry g: Conv2dGeometry) -> Tensor {
  let (o, c, kh, kw) = (g.outChannels, g.inChannels, g.kernelH, g.kernelW)
  let taps = kh * kw
  var flipped = Tensor(zeros: [c, o, kh, kw])
  weight.withUnsafeBufferPointer { w in
    flipped.withUnsafeMutableBufferPointer { f in
      for oc in 0..<o {
        for ic in 0..<c {
          let src = w.baseAddress! + (oc * c + ic) * taps
          let dst = f.baseAddress! + (ic * o + oc) * taps
          for t in 0..<taps { dst[t] = src[taps - 1 - t] }
        }
      }
    }
  }
  return flipped
}

// MARK: - im2col + sgemm

/// Weight-gradient partial sums are kept per chunk of images; at most this many chunks
/// (enough to keep eight workers busy) …
private let maxWeightGradientChunks = 8
/// … and at most this many floats of partial sums in all (16 MiB).
private let weightGradientPartialFloats = 1 << 22

/// dWeight += dy · im2col(x)ᵀ and dx = col2im(Wᵀ · dy), each when asked.
///
/// The batch is cut into a fixed number of chunks of consecutive images that depends
/// only on the batch and weight sizes; each chunk sums its images' weight gradients into
/// its own buffer and the buffers are added to dWeight in chunk order at the end, so the
/// result is the same whatever the thread count or scheduling. dx needs no reduction:
/// each image's input gradient is written by the one chunk that owns it.
///
/// input: [N, C, H, W], weight: [O, C/groups, kH, kW], dOutput: [N, O, outH, outW]
/// dWeight: [O, C/groups, kH, kW] (+=) -> dInput: [N, C, H, W] or nil
private func im2colConv2dBackward(
  _ input: Tensor, weight: Tensor, dOutput: Tensor, shapes s: Conv2dShapes,
  dWeight: inout Tensor, computeWeightGradient: Bool, computeInputGradient: Bool
) -> Tensor? {
  let g = s.geometry
  let (inPerGroup, outPerGroup, k, planeIn, planeOut, pointwise, rowsPerBlock, colCount) = Im2colLayout(s).extents
  let weightCount = computeWeightGradient ? dWeight.count : 0
  let chunks = max(
    1, min(s.batch, maxWeightGradientChunks, weightGradientPartialFloats / max(weightCount, 1)))
  let partials = allocateScratch(chunks * weightCount)
  defer { partials.deallocate() }
  // col2im adds into dx, so it starts at zero.
  var dx = computeInputGradient ? Tensor(zeros: [s.batch, g.inChannels, s.height, s.width]) : nil

  input.withUnsafeBufferPointer { xBuffer in
    weight.withUnsafeBufferPointer { wBuffer in
      dOutput.withUnsafeBufferPointer { dyBuffer in
        let x = xBuffer.baseAddress!
        let w = wBuffer.baseAddress!
        let dy = dyBuffer.baseAddress!
        withOptionalMutablePointer(&dx) { dxBase in
          Parallel.forEach(chunks) { chunk in
            let col = allocateScratch(colCount)
            defer { col.deallocate() }
            let partial = partials + chunk * weightCount
            for n in s.batch * chunk / chunks..<s.batch * (chunk + 1) / chunks {
              for first in stride(from: 0, to: s.outHeight, by: rowsPerBlock) {
                let rows = first..<min(s.outHeight, first + rowsPerBlock)
                let columns = rows.count * s.outWidth
                for group in 0..<g.groups {
                  // src: [C/groups, H, W]; dyBlock: [O/groups, rows, outW] inside [O, outH, outW]
                  let src = x + (n * g.inChannels + group * inPerGroup) * planeIn
                  let dyBlock =
                    dy + (n * g.outChannels + group * outPerGroup) * planeOut + first * s.outWidth
                  let wGroup = w + group * outPerGroup * k
                  if computeWeightGradient {
                    let columnMatrix: UnsafePointer<Float>
                    let ldCol: Int
                    if pointwise {
                      (columnMatrix, ldCol) = (src + first * s.width, planeIn)
                    } else {
                      im2col(
                        src, channels: inPerGroup, height: s.height, width: s.width, geometry: g,
                        outWidth: s.outWidth, rows: rows, into: col)
                      (columnMatrix, ldCol) = (UnsafePointer(col), columns)
                    }
                    // dW_g [O/g, k] += dyBlock [O/g, columns] · colᵀ [columns, k]
                    gemm(
                      transposeA: false, transposeB: true, m: outPerGroup, n: k, k: columns,
                      a: dyBlock, lda: planeOut, b: columnMatrix, ldb: ldCol, beta: 1,
                      c: partial + group * outPerGroup * k, ldc: k)
                  }
                  guard let dxBase else { continue }
                  let dxGroup = dxBase + (n * g.inChannels + group * inPerGroup) * planeIn
                  if pointwise {
                    // dx_g [C/g, rows·W] = W_gᵀ [C/g, O/g] · dyBlock [O/g, columns]
                    gemm(
                      transposeA: true, transposeB: false, m: k, n: columns, k: outPerGroup,
                      a: wGroup, lda: k, b: dyBlock, ldb: planeOut, beta: 0,
                      c: dxGroup + first * s.width, ldc: planeIn)
                  } else {
                    // dcol [k, columns] = W_gᵀ [k, O/g] · dyBlock [O/g, columns], folded back.
                    gemm(
                      transposeA: true, transposeB: false, m: k, n: columns, k: outPerGroup,
                      a: wGroup, lda: k, b: dyBlock, ldb: planeOut, beta: 0, c: col, ldc: columns)
                    col2im(
                      col, channels: inPerGroup, height: s.height, width: s.width, geometry: g,
                      outWidth: s.outWidth, rows: rows, into: dxGroup)
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  dWeight.withUnsafeMutableBufferPointer { dw in
    for chunk in 0..<chunks {
      let partial = partials + chunk * weightCount
      for i in 0..<weightCount { dw[i] += partial[i] }
    }
  }
  return dx
}

/// The adjoint of `im2col`: adds each column entry back onto the input pixel it was
/// copied from, `dst[c, oy·sH + ky − pH, ox·sW + kx − pW] += col[(c·kH + ky)·kW + kx][…]`,
/// dropping entries that fell in the padding.
///
/// col: [channels·kH·kW, rows.count·outWidth], dst: [channels, height, width] (+=)
func col2im(
  _ col: UnsafePointer<Float>, channels: Int, height: Int, width: Int, geometry g: Conv2dGeometry,
  outWidth: Int, rows: Range<Int>, into dst: UnsafeMutablePointer<Float>
) {
  let columns = rows.count * outWidth
  for c in 0..<channels {
    for ky in 0..<g.kernelH {
      for kx in 0..<g.kernelW {
        let (lo, hi) = validRange(
          tap: kx, pad: g.padW, stride: g.strideW, extent: width, outExtent: outWidth)
        guard lo < hi else { continue }
        var src = col + ((c * g.kernelH + ky) * g.kernelW + kx) * columns
        let shift = kx - g.padW  // ix = ox·sW + shift
        for oy in rows {
          let iy = oy * g.strideH + ky - g.padH
          if iy >= 0 && iy < height {
            let dstRow = dst + (c * height + iy) * width + shift
            if g.strideW == 1 {
              for ox in lo..<hi { dstRow[ox] += src[ox] }
            } else {
              for ox in lo..<hi { dstRow[ox * g.strideW] += src[ox] }
            }
          }
          src += outWidth
        }
      }
    }
  }
}

/// Row-major `c = op(a) · op(b) + beta · c` on the calling thread, `op` transposing when
/// asked (`lda`, `ldb` are the row strides of `a` and `b` as stored).
@inline(__always)
func gemm(
  transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
  b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
  BLAS.sgemm(
    transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c,
    ldc: ldc)
}

/// Runs `body` with the base address of `tensor`'s storage, or nil when there is none.
@inline(__always)
func withOptionalMutablePointer<R>(
  _ tensor: inout Tensor?, _ body: (UnsafeMutablePointer<Float>?) -> R
) -> R {
  guard tensor != nil else { return body(nil) }
  return tensor!.withUnsafeMutableBufferPointer { body($0.baseAddress) }
}
