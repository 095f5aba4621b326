/// Naive average pooling, one window at a time, kept beside the separable kernels of
/// `Pooling.swift` and `PoolingBackward.swift` as the independent computation their tests
/// compare against (as `Conv2dReference.swift` is for the convolutions). Not used by
/// models: kernel² additions per output.

/// Mean over each window, summed in row-major window order (PyTorch's CPU order).
/// x: [N, C, H, W] -> y: [N, C, OH, OW]
public func avgpool2d_forward_reference(
  _ x: Tensor, geometry g: Pool2dGeometry, countIncludePad: Bool = true
) throws(TensorError) -> Tensor {
  guard x.rank == 4 else { throw .shapeMismatch("pooling needs [N, C, H, W], got \(x.shape)") }
  let (h, w) = (x.h, x.w)
  let (oh, ow) = (try g.outputSize(h), try g.outputSize(w))
  var y = Tensor(zeros: [x.n, x.c, oh, ow])
  for plane in 0..<(x.n * x.c) {
    for oy in 0..<oh {
      for ox in 0..<ow {
        let (ys, ye) = g.window(oy, extent: h), (xs, xe) = g.window(ox, extent: w)
        var sum: Float = 0
        for iy in ys..<ye {
          for ix in xs..<xe { sum += x.storage[plane * h * w + iy * w + ix] }
        }
        let divisor = countIncludePad ? g.kernel * g.kernel : (ye - ys) * (xe - xs)
        y.storage[plane * oh * ow + oy * ow + ox] = sum / Float(divisor)
      }
    }
  }
  return y
}

/// Each output's gradient scattered over its window, one window at a time.
/// dOutput: [N, C, OH, OW], inputShape: [N, C, H, W] -> dInput: [N, C, H, W]
public func avgpool2d_backward_reference(
  _ dOutput: Tensor, inputShape: [Int], geometry g: Pool2dGeometry, countIncludePad: Bool = true
) throws(TensorError) -> Tensor {
  let (h, w, oh, ow) = try avgPoolGradientExtents(dOutput, inputShape: inputShape, geometry: g)
  var dx = Tensor(zeros: inputShape)
  for plane in 0..<(dOutput.n * dOutput.c) {
    for oy in 0..<oh {
      for ox in 0..<ow {
        let (ys, ye) = g.window(oy, extent: h), (xs, xe) = g.window(ox, extent: w)
        let divisor = countIncludePad ? g.kernel * g.kernel : (ye - ys) * (xe - xs)
        let share = dOutput.storage[plane * oh * ow + oy * ow + ox] / Float(divisor)
        for iy in ys..<ye {
          for ix in xs..<xe { dx.storage[plane * h * w + iy * w + ix] += share }
        }
      }
    }
  }
  return dx
}
