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
