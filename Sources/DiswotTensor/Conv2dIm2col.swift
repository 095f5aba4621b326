// The general convolution: unfold input patches into a column matrix (im2col) and
// multiply it by the weight matrix with one sgemm per group.
//
// The output is produced in blocks of whole output rows so that the column matrix stays
// cache-sized whatever the image, and a large image still splits across workers. A
// pointwise (1x1, stride 1, no padding) convolution skips the unfolding: its input planes
// already are the column matrix.

/// Column-matrix floats aimed for per block: 256 KiB, well inside a core's L2.
private let im2colBlockFloats = 1 << 16

/// The extents of an im2col lowering, shared by the forward and backward kernels.
struct Im2colLayout {
  let inPerGroup: Int
  let outPerGroup: Int
  /// Rows of the column matrix: C/groups · kH · kW.
  let k: Int
  let planeIn: Int
  let planeOut: Int
  /// 1×1, stride 1, no padding: the input planes already are the column matrix.
  let pointwise: Bool
  /// Output rows unfolded at a time, so the column buffer stays near `im2colBlockFloats`.
  let rowsPerBlock: Int
  /// Floats of one column buffer (0 for pointwise).
  let colCount: Int

  init(_ s: Conv2dShapes) {
    let g = s.geometry
    inPerGroup = g.inChannels / g.groups
    outPerGroup = g.outChannels / g.groups
    k = inPerGroup * g.kernelH * g.kernelW
    planeIn = s.height * s.width
    planeOut = s.outHeight * s.outWidth
    pointwise = g.kernelH == 1 && g.kernelW == 1 && g.strideH == 1 && g.strideW == 1 && g.padH == 0 && g.padW == 0
    rowsPerBlock = min(s.outHeight, max(1, im2colBlockFloats / (k * s.outWidth)))
    colCount = pointwise ? 0 : k * rowsPerBlock * s.outWidth
  }

  /// Every extent, for destructuring at the top of a kernel.
  var extents: (Int, Int, Int, Int, Int, Bool, Int, Int) {
    (inPerGroup, outPerGroup, k, planeIn, planeOut, pointwise, rowsPerBlock, colCount)
  }
}

/// input: [N, C, H, W], weight: [O, C/groups, kH, kW], bias: [O] or nil -> [N, O, outH, outW]
func im2colConv2d(
  _ input: Tensor, weight: Tensor, bias: Tensor?, shapes s: Conv2dShapes
) throws(TensorError) -> Tensor {
  let g = s.geometry
  let (inPerGroup, outPerGroup, k, planeIn, planeOut, pointwise, rowsPerBlock, colCount) = Im2colLayout(s).extents
  // Pointwise blocks too, though they need no column matrix: blocks are what lets a
  // single large image use several workers.
  let blocks = (s.outHeight + rowsPerBlock - 1) / rowsPerBlock

  return try makeTensor(shape: s.outputShape) { y in
    input.withUnsafeBufferPointer { xBuffer in
      weight.withUnsafeBufferPointer { wBuffer in
        let x = xBuffer.baseAddress!
        let w = wBuffer.baseAddress!
        // One unit = one block of output rows of one image, all groups.
        forEachWorkerRange(s.batch * blocks) { units in
          let col = allocateScratch(colCount)
          defer { col.deallocate() }
          for unit in units {
            let n = unit / blocks
            let first = (unit % blocks) * rowsPerBlock
            let rows = first..<min(s.outHeight, first + rowsPerBlock)
            let columns = rows.count * s.outWidth
            for group in 0..<g.groups {
              // src: [C/groups, H, W], dst: [O/groups, rows, outW] inside [O, outH, outW]
              let src = x + (n * g.inChannels + group * inPerGroup) * planeIn
              let dst =
                y + (n * g.outChannels + group * outPerGroup) * planeOut + first * s.outWidth
              if pointwise {
                sgemm(
                  m: outPerGroup, n: columns, k: k, a: w + group * outPerGroup * k, lda: k,
                  b: src + first * s.width, ldb: planeIn, c: dst, ldc: planeOut)
              } else {
                im2col(
                  src, channels: inPerGroup, height: s.height, width: s.width, geometry: g,
                  outWidth: s.outWidth, rows: rows, into: col)
                sgemm(
                  m: outPerGroup, n: columns, k: k, a: w + group * outPerGroup * k, lda: k,
                  b: col, ldb: columns, c: dst, ldc: planeOut)
              }
            }
            if let bias {
              addBias(
                bias, to: y + n * g.outChannels * planeOut + first * s.outWidth,
                channelStride: planeOut, count: columns)
            }
          }
        }
      }
    }
  }
}

/// Unfolds the receptive fields of output rows `rows` into columns:
/// `col[(c·kH + ky)·kW + kx][(oy − rows.lowerBound)·outW + ox] = x[c, oy·sH + ky − pH, ox·sW + kx − pW]`,
/// zero where that falls in the padding. Shared with the backward pass (weight gradient).
///
/// src: [channels, height, width], col: [channels·kH·kW, rows.count·outWidth]
func im2col(
  _ src: UnsafePointer<Float>, channels: Int, height: Int, width: Int, geometry g: Conv2dGeometry,
  outWidth: Int, rows: Range<Int>, into col: UnsafeMutablePointer<Float>
) {
  let columns = rows.count * outWidth
  for c in 0..<channels {
    for ky in 0..<g.kernelH {
      for kx in 0..<g.kernelW {
        // Output columns whose tap ix = ox·sW + kx − pW lands inside the image.
        let (lo, hi) = validRange(
          tap: kx, pad: g.padW, stride: g.strideW, extent: width, outExtent: outWidth)
        var dst = col + ((c * g.kernelH + ky) * g.kernelW + kx) * columns
        for oy in rows {
          let iy = oy * g.strideH + ky - g.padH
          if iy < 0 || iy >= height || lo >= hi {
            dst.update(repeating: 0, count: outWidth)
          } else {
            let srcRow = src + (c * height + iy) * width
            let shift = kx - g.padW  // ix = ox·sW + shift
            dst.update(repeating: 0, count: lo)
            if g.strideW == 1 {
              (dst + lo).update(from: srcRow + lo + shift, count: hi - lo)
            } else {
              for ox in lo..<hi { dst[ox] = srcRow[ox * g.strideW + shift] }
            }
            (dst + hi).update(repeating: 0, count: outWidth - hi)
          }
          dst += outWidth
        }
      }
    }
  }
}

/// The output positions `lo..<hi` (clamped to `0..<outExtent`) whose input coordinate
/// `o·stride + tap − pad` lies in `0..<extent`.
@inline(__always)
func validRange(tap: Int, pad: Int, stride: Int, extent: Int, outExtent: Int) -> (Int, Int) {
  let before = pad - tap  // input coordinate is >= 0 once o·stride >= before
  let lo = before > 0 ? (before + stride - 1) / stride : 0
  let last = extent - 1 + pad - tap  // and <= extent − 1 while o·stride <= last
  let hi = last < 0 ? 0 : min(outExtent, last / stride + 1)
  return (min(lo, hi), hi)
}

/// Adds `bias[o]` to `count` consecutive elements of each output channel `o`.
///
/// y: channel `o` starts at `y + o·channelStride`
func addBias(_ bias: Tensor, to y: UnsafeMutablePointer<Float>, channelStride: Int, count: Int) {
  bias.withUnsafeBufferPointer { b in
    for o in 0..<b.count {
      let row = y + o * channelStride
      let value = b[o]
      for i in 0..<count { row[i] += value }
    }
  }
}
