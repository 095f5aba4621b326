/// Gradients of spatial pooling (`Pooling.swift`), with PyTorch's semantics.
///
/// Windows may overlap (kernel > stride), so every backward pass scatters-adds into a
/// zeroed input gradient plane by plane; planes are independent and split across workers.

/// Max pooling that also returns, for each output, the position `iy·W + ix` within its
/// input plane of the value that won: what the backward pass routes the gradient to.
/// Ties go to the first maximum in row-major window order and NaN wins (PyTorch's CPU
/// kernel); a window is never all padding, so every output has a position in the image.
/// x: [N, C, H, W] -> y: [N, C, OH, OW], indices: N·C·OH·OW positions
public func maxpool2d_forward_with_indices(
  _ x: Tensor, geometry g: Pool2dGeometry
) throws(TensorError) -> (output: Tensor, indices: [Int32]) {
  guard x.rank == 4 else { throw .shapeMismatch("pooling needs [N, C, H, W], got \(x.shape)") }
  let (h, w) = (x.h, x.w)
  let (oh, ow) = (try g.outputSize(h), try g.outputSize(w))
  guard h * w <= Int(Int32.max) else {
    throw .invalidArgument("max pooling indices cannot address a \(h)x\(w) plane")
  }
  var y = Tensor(zeros: [x.n, x.c, oh, ow])
  var indices = [Int32](repeating: 0, count: y.count)
  x.withUnsafeBufferPointer { xp in
    y.withUnsafeMutableBufferPointer { yp in
      indices.withUnsafeMutableBufferPointer { ip in
        let (xb, yb, ib) = (xp.baseAddress!, yp.baseAddress!, ip.baseAddress!)
        Parallel.forEach(x.n * x.c) { plane in
          let src = xb + plane * h * w
          for oy in 0..<oh {
            let (ys, ye) = g.window(oy, extent: h)
            for ox in 0..<ow {
              let (xs, xe) = g.window(ox, extent: w)
              var best = -Float.infinity
              var position = ys * w + xs
              for iy in ys..<ye {
                for ix in xs..<xe {
                  let v = src[iy * w + ix]
                  if v > best || v.isNaN {
                    best = v
                    position = iy * w + ix
                    if v.isNaN { break }
                  }
                }
                if best.isNaN { break }
              }
              let out = plane * oh * ow + oy * ow + ox
              yb[out] = best
              ib[out] = Int32(position)
            }
          }
        }
      }
    }
  }
  return (y, indices)
}

/// dx[n, c, indices[·]] += dy[n, c, ·]: each output's gradient goes to its window's maximum.
/// dOutput: [N, C, OH, OW], indices from `maxpool2d_forward_with_indices`,
/// inputShape: [N, C, H, W] -> dInput: [N, C, H, W]
public func maxpool2d_backward(
  _ dOutput: Tensor, indices: [Int32], inputShape: [Int]
) throws(TensorError) -> Tensor {
  try checkPoolGradientShapes(dOutput, inputShape: inputShape)
  guard indices.count == dOutput.count else {
    throw .shapeMismatch("\(indices.count) max-pooling indices for an output gradient \(dOutput.shape)")
  }
  let plane = inputShape[2] * inputShape[3]
  guard indices.allSatisfy({ $0 >= 0 && Int($0) < plane }) else {
    throw .invalidArgument("max-pooling indices outside a \(inputShape[2])x\(inputShape[3]) plane")
  }
  let outPlane = dOutput.h * dOutput.w
  var dx = Tensor(zeros: inputShape)
  dOutput.withUnsafeBufferPointer { dyp in
    dx.withUnsafeMutableBufferPointer { dxp in
      indices.withUnsafeBufferPointer { ip in
        let (dyb, dxb, ib) = (dyp.baseAddress!, dxp.baseAddress!, ip.baseAddress!)
        Parallel.forEach(dOutput.n * dOutput.c) { p in
          let dst = dxb + p * plane
          for i in p * outPlane..<(p + 1) * outPlane { dst[Int(ib[i])] += dyb[i] }
        }
      }
    }
  }
  return dx
}

/// Each output's gradient spread evenly over its window: divided by kernel² with
/// `countIncludePad`, by the number of in-image positions without (as the forward pass).
///
/// Separable like the forward pass: for each output row, its gradients are scaled by
/// their divisors' inverses, spread along a row of width W one window tap at a time (each tap a
/// contiguous add over the whole row for stride 1), and that row is added to every input
/// row the window covers. The naive scatter is `avgpool2d_backward_reference`; results
/// agree with it to rounding.
/// dOutput: [N, C, OH, OW], inputShape: [N, C, H, W] -> dInput: [N, C, H, W]
public func avgpool2d_backward(
  _ dOutput: Tensor, inputShape: [Int], geometry g: Pool2dGeometry, countIncludePad: Bool = true
) throws(TensorError) -> Tensor {
  let (h, w, oh, ow) = try avgPoolGradientExtents(dOutput, inputShape: inputShape, geometry: g)
  let inverses = try g.inverseDivisors(height: h, width: w, countIncludePad: countIncludePad)
  let taps = (0..<g.kernel).map { g.outputs(tap: $0, count: ow, extent: w) }
  var dx = Tensor(zeros: inputShape)
  dOutput.withUnsafeBufferPointer { dyp in
    dx.withUnsafeMutableBufferPointer { dxp in
      let (dyb, dxb) = (dyp.baseAddress!, dxp.baseAddress!)
      Parallel.forEach(dOutput.n * dOutput.c) { plane in
        let dst = dxb + plane * h * w
        withUnsafeTemporaryAllocation(of: Float.self, capacity: w + ow) { buffer in
          let spread = buffer.baseAddress!, shares = spread + w
          for oy in 0..<oh {
            let (ys, ye) = g.window(oy, extent: h)
            let dy = dyb + (plane * oh + oy) * ow
            inverses.withUnsafeBufferPointer { d in
              let row = d.baseAddress! + oy * ow
              for ox in 0..<ow { shares[ox] = dy[ox] * row[ox] }
            }
            // spread[ix] = Σ over the outputs whose window covers column ix of their share
            spread.update(repeating: 0, count: w)
            for (j, range) in taps.enumerated() {
              let shift = j - g.padding
              if g.stride == 1 {
                for ox in range { spread[ox + shift] += shares[ox] }
              } else {
                for ox in range { spread[ox * g.stride + shift] += shares[ox] }
              }
            }
            for iy in ys..<ye {
              let row = dst + iy * w
              for ix in 0..<w { row[ix] += spread[ix] }
            }
          }
        }
      }
    }
  }
  return dx
}

/// Checks an average-pooling gradient against the input it pools and returns the
/// planes' extents: input (H, W) and output (OH, OW).
func avgPoolGradientExtents(
  _ dOutput: Tensor, inputShape: [Int], geometry g: Pool2dGeometry
) throws(TensorError) -> (h: Int, w: Int, oh: Int, ow: Int) {
  try checkPoolGradientShapes(dOutput, inputShape: inputShape)
  let (h, w) = (inputShape[2], inputShape[3])
  let (oh, ow) = (try g.outputSize(h), try g.outputSize(w))
  guard dOutput.h == oh, dOutput.w == ow else {
    throw .shapeMismatch("average pooling of \(inputShape) gives [\(oh), \(ow)] planes, gradient is \(dOutput.shape)")
  }
  return (h, w, oh, ow)
}

/// dx[n, c, :, :] = dy[n, c] / (H·W).
/// dOutput: [N, C], inputShape: [N, C, H, W] -> dInput: [N, C, H, W]
public func global_avgpool_backward(_ dOutput: Tensor, inputShape: [Int]) throws(TensorError) -> Tensor {
  guard inputShape.count == 4, dOutput.shape == [inputShape[0], inputShape[1]] else {
    throw .shapeMismatch("global pooling of \(inputShape) cannot take an output gradient \(dOutput.shape)")
  }
  let hw = inputShape[2] * inputShape[3]
  let inv = 1 / Float(hw)
  var dx = Tensor(zeros: inputShape)
  dOutput.withUnsafeBufferPointer { dyp in
    dx.withUnsafeMutableBufferPointer { dxp in
      for plane in 0..<dOutput.count {
        (dxp.baseAddress! + plane * hw).update(repeating: dyp[plane] * inv, count: hw)
      }
    }
  }
  return dx
}

private func checkPoolGradientShapes(_ dOutput: Tensor, inputShape: [Int]) throws(TensorError) {
  guard inputShape.count == 4, inputShape.allSatisfy({ $0 >= 0 }), dOutput.rank == 4,
    dOutput.n == inputShape[0], dOutput.c == inputShape[1]
  else {
    throw .shapeMismatch("pooling of \(inputShape) cannot take an output gradient \(dOutput.shape)")
  }
}
