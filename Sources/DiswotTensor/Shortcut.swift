/// The CIFAR ResNet "option A" shortcut (He et al. 2016, §4.2): an identity that
/// subsamples space by `stride` and zero-pads the new channels. It has no parameters,
/// which is why the original CIFAR ResNets have so few.
///
/// Padding is split evenly before and after the existing channels, matching the
/// reference PyTorch code (`F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, p, p))` with
/// p = (outChannels − inChannels) / 2), so the kept channels sit in the middle.
/// x: [N, C, H, W] -> y: [N, outChannels, ceil(H/stride), ceil(W/stride)]
public func shortcut_a_forward(_ x: Tensor, outChannels: Int, stride: Int) throws(TensorError) -> Tensor {
  guard x.rank == 4, stride >= 1 else { throw .shapeMismatch("option-A shortcut got input \(x.shape)") }
  let extra = outChannels - x.c
  guard extra >= 0, extra % 2 == 0 else {
    throw .invalidArgument("option-A shortcut cannot map \(x.c) to \(outChannels) channels (needs an even increase)")
  }
  let (h, w) = (x.h, x.w)
  let (oh, ow) = ((h + stride - 1) / stride, (w + stride - 1) / stride)
  let before = extra / 2
  var y = Tensor(zeros: [x.n, outChannels, oh, ow])
  x.withUnsafeBufferPointer { xp in
    y.withUnsafeMutableBufferPointer { yp in
      for img in 0..<x.n {
        for ch in 0..<x.c {
          let src = xp.baseAddress! + (img * x.c + ch) * h * w
          let dst = yp.baseAddress! + (img * outChannels + before + ch) * oh * ow
          for oy in 0..<oh {
            for ox in 0..<ow { dst[oy * ow + ox] = src[oy * stride * w + ox * stride] }
          }
        }
      }
    }
  }
  return y
}

/// The option-A shortcut's gradient: the kept (middle) channels of dy go back to the
/// subsampled positions they came from; the other input positions and the padded
/// channels get nothing.
/// dOutput: [N, outChannels, ceil(H/stride), ceil(W/stride)], inputShape: [N, C, H, W]
/// -> dInput: [N, C, H, W]
public func shortcut_a_backward(
  _ dOutput: Tensor, inputShape: [Int], stride: Int
) throws(TensorError) -> Tensor {
  guard inputShape.count == 4, inputShape.allSatisfy({ $0 >= 0 }), stride >= 1 else {
    throw .shapeMismatch("option-A shortcut got input shape \(inputShape)")
  }
  let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
  let (oh, ow) = ((h + stride - 1) / stride, (w + stride - 1) / stride)
  guard dOutput.rank == 4, dOutput.n == n, dOutput.c >= c, (dOutput.c - c) % 2 == 0,
    dOutput.h == oh, dOutput.w == ow
  else {
    throw .shapeMismatch("option-A shortcut from \(inputShape) cannot take an output gradient \(dOutput.shape)")
  }
  let outChannels = dOutput.c
  let before = (outChannels - c) / 2
  var dx = Tensor(zeros: inputShape)
  dOutput.withUnsafeBufferPointer { dyp in
    dx.withUnsafeMutableBufferPointer { dxp in
      for img in 0..<n {
        for ch in 0..<c {
          let src = dyp.baseAddress! + (img * outChannels + before + ch) * oh * ow
          let dst = dxp.baseAddress! + (img * c + ch) * h * w
          for oy in 0..<oh {
            for ox in 0..<ow { dst[oy * stride * w + ox * stride] = src[oy * ow + ox] }
          }
        }
      }
    }
  }
  return dx
}
