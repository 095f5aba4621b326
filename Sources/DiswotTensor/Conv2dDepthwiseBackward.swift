// Gradients of the depthwise convolution (`Conv2dDepthwise.swift`), by direct loops for
// the same reason as its forward pass: with no reduction over channels, sgemm would see
// 1-row products. Each channel is one work unit holding its own kernel's gradient, so
// no partial sums are reduced and the result does not depend on the thread count.

/// input: [N, C, H, W], weight: [C, 1, kH, kW], dOutput: [N, C, outH, outW]
/// dWeight: [C, 1, kH, kW] (+=) -> dInput: [N, C, H, W] or nil
func depthwiseConv2dBackward(
  _ input: Tensor, weight: Tensor, dOutput: Tensor, shapes s: Conv2dShapes,
  dWeight: inout Tensor, computeInputGradient: Bool, computeWeightGradient: Bool
) -> Tensor? {
  let g = s.geometry
  let channels = g.inChannels
  let paddedH = s.height + 2 * g.padH
  let paddedW = s.width + 2 * g.padW
  let taps = g.kernelH * g.kernelW
  let planeIn = s.height * s.width
  let planeOut = s.outHeight * s.outWidth
  var dx = computeInputGradient ? Tensor(zeros: [s.batch, channels, s.height, s.width]) : nil

  input.withUnsafeBufferPointer { xBuffer in
    weight.withUnsafeBufferPointer { wBuffer in
      dOutput.withUnsafeBufferPointer { dyBuffer in
        dWeight.withUnsafeMutableBufferPointer { dwBuffer in
          let (x, w, dy, dw) = (
            xBuffer.baseAddress!, wBuffer.baseAddress!, dyBuffer.baseAddress!, dwBuffer.baseAddress!
          )
          withOptionalMutablePointer(&dx) { dxBase in
            forEachWorkerRange(channels) { range in
              // padded, dPadded: [paddedH, paddedW]; padded's borders stay zero.
              let padded = allocateScratch(paddedH * paddedW)
              let dPadded = allocateScratch(paddedH * paddedW)
              let planeSums = allocateScratch(taps)
              defer { for p in [padded, dPadded, planeSums] { p.deallocate() } }
              var totals = [Double](repeating: 0, count: taps)
              for c in range {
                for t in 0..<taps { totals[t] = 0 }
                let kernel = w + c * taps
                for n in 0..<s.batch {
                  let plane = n * channels + c
                  let src = x + plane * planeIn
                  for iy in 0..<s.height {
                    (padded + (iy + g.padH) * paddedW + g.padW).update(
                      from: src + iy * s.width, count: s.width)
                  }
                  if dxBase != nil { dPadded.update(repeating: 0, count: paddedH * paddedW) }
                  planeSums.update(repeating: 0, count: taps)
                  depthwisePlaneBackward(
                    padded, dPadded: dxBase == nil ? nil : dPadded, paddedWidth: paddedW,
                    kernel: kernel, dOutput: dy + plane * planeOut, geometry: g,
                    outHeight: s.outHeight, outWidth: s.outWidth, dKernel: planeSums)
                  for t in 0..<taps { totals[t] += Double(planeSums[t]) }
                  if let dxBase {
                    let dst = dxBase + plane * planeIn
                    for iy in 0..<s.height {
                      (dst + iy * s.width).update(
                        from: dPadded + (iy + g.padH) * paddedW + g.padW, count: s.width)
                    }
                  }
                }
                // The kernel gradient comes out of the same loop as dx, so a pass that
                // wants dx alone only skips adding it.
                if computeWeightGradient {
                  for t in 0..<taps { dw[c * taps + t] += Float(totals[t]) }
                }
              }
            }
          }
        }
      }
    }
  }
  return dx
}

/// One plane's share of the kernel gradient, and its padded input gradient.
///
/// padded: [>= (outH−1)·sH + kH, paddedWidth], kernel: [kH, kW], dOutput: [outH, outW]
/// dPadded: like padded (+=), or nil; dKernel: [kH, kW] (+=)
@inline(__always)
private func depthwisePlaneBackward(
  _ padded: UnsafePointer<Float>, dPadded: UnsafeMutablePointer<Float>?, paddedWidth: Int,
  kernel: UnsafePointer<Float>, dOutput: UnsafePointer<Float>, geometry g: Conv2dGeometry,
  outHeight: Int, outWidth: Int, dKernel: UnsafeMutablePointer<Float>
) {
  let sW = g.strideW
  for oy in 0..<outHeight {
    let dyRow = dOutput + oy * outWidth
    for ky in 0..<g.kernelH {
      let offset = (oy * g.strideH + ky) * paddedWidth
      for kx in 0..<g.kernelW {
        let src = padded + offset + kx
        var dot: Float = 0
        for ox in 0..<outWidth { dot += dyRow[ox] * src[ox * sW] }
        dKernel[ky * g.kernelW + kx] += dot
        if let dPadded {
          let tap = kernel[ky * g.kernelW + kx]
          let dst = dPadded + offset + kx
          if sW == 1 {
            for ox in 0..<outWidth { dst[ox] += tap * dyRow[ox] }
          } else {
            for ox in 0..<outWidth { dst[ox * sW] += tap * dyRow[ox] }
          }
        }
      }
    }
  }
}
