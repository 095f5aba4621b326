// Depthwise convolution (groups == in == out channels): each channel is filtered by its
// own kH x kW kernel. With no reduction over channels, im2col + sgemm would be one
// 1 x kH·kW by kH·kW x pixels product per channel, all unfolding and call overhead;
// direct loops over a zero-padded copy of the plane run branch-free and vectorise along
// output rows.

/// input: [N, C, H, W], weight: [C, 1, kH, kW], bias: [C] or nil -> [N, C, outH, outW]
func depthwiseConv2d(
  _ input: Tensor, weight: Tensor, bias: Tensor?, shapes s: Conv2dShapes
) throws(TensorError) -> Tensor {
  let g = s.geometry
  let paddedH = s.height + 2 * g.padH
  let paddedW = s.width + 2 * g.padW
  let taps = g.kernelH * g.kernelW
  let planeIn = s.height * s.width
  let planeOut = s.outHeight * s.outWidth

  return try makeTensor(shape: s.outputShape) { y in
    input.withUnsafeBufferPointer { xBuffer in
      weight.withUnsafeBufferPointer { wBuffer in
        let x = xBuffer.baseAddress!
        let w = wBuffer.baseAddress!
        let b = bias?.storage
        // One unit = one channel plane of one image.
        forEachWorkerRange(s.batch * g.inChannels) { planes in
          // padded: [paddedH, paddedW], borders stay zero, interior rewritten per plane
          let padded = allocateScratch(paddedH * paddedW)
          defer { padded.deallocate() }
          for plane in planes {
            let c = plane % g.inChannels
            let src = x + plane * planeIn
            let dst = y + plane * planeOut
            for iy in 0..<s.height {
              (padded + (iy + g.padH) * paddedW + g.padW).update(
                from: src + iy * s.width, count: s.width)
            }
            depthwisePlane(
              padded, paddedWidth: paddedW, kernel: w + c * taps, bias: b?[c] ?? 0,
              geometry: g, outHeight: s.outHeight, outWidth: s.outWidth, into: dst)
          }
        }
      }
    }
  }
}

/// One output plane from one zero-padded input plane.
///
/// padded: [>= (outH−1)·sH + kH, paddedWidth], kernel: [kH, kW], out: [outH, outW]
@inline(__always)
private func depthwisePlane(
  _ padded: UnsafePointer<Float>, paddedWidth: Int, kernel: UnsafePointer<Float>, bias: Float,
  geometry g: Conv2dGeometry, outHeight: Int, outWidth: Int, into out: UnsafeMutablePointer<Float>
) {
  for oy in 0..<outHeight {
    let row = out + oy * outWidth
    row.update(repeating: bias, count: outWidth)
    for ky in 0..<g.kernelH {
      let srcRow = padded + (oy * g.strideH + ky) * paddedWidth
      for kx in 0..<g.kernelW {
        let tap = kernel[ky * g.kernelW + kx]
        let src = srcRow + kx
        if g.strideW == 1 {
          for ox in 0..<outWidth { row[ox] += tap * src[ox] }
        } else {
          for ox in 0..<outWidth { row[ox] += tap * src[ox * g.strideW] }
        }
      }
    }
  }
}
