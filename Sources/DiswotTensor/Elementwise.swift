/// Element-wise sums and channel concatenation.

/// a += b (residual connections add into the tensor the block already owns).
/// a, b: same shape
public func add_forward(_ a: inout Tensor, _ b: Tensor) throws(TensorError) {
  guard a.shape == b.shape else { throw .shapeMismatch("cannot add \(b.shape) to \(a.shape)") }
  a.withUnsafeMutableBufferPointer { ap in
    b.withUnsafeBufferPointer { bp in
      let (ab, bb, count) = (ap.baseAddress!, bp.baseAddress!, ap.count)
      for i in 0..<count { ab[i] += bb[i] }
    }
  }
}

/// Stacks NCHW tensors along the channel axis.
/// inputs: [N, C_i, H, W] each -> y: [N, ΣC_i, H, W]
public func concat_channels_forward(_ inputs: [Tensor]) throws(TensorError) -> Tensor {
  guard let first = inputs.first, first.rank == 4 else {
    throw .invalidArgument("concatenation needs at least one [N, C, H, W] tensor")
  }
  for t in inputs where t.rank != 4 || t.n != first.n || t.h != first.h || t.w != first.w {
    throw .shapeMismatch("cannot concatenate \(t.shape) with \(first.shape) along channels")
  }
  let hw = first.h * first.w
  let channels = inputs.reduce(0) { $0 + $1.c }
  var y = Tensor(zeros: [first.n, channels, first.h, first.w])
  y.withUnsafeMutableBufferPointer { yp in
    var offset = 0
    for t in inputs {
      t.withUnsafeBufferPointer { tp in
        for img in 0..<first.n {
          let src = tp.baseAddress! + img * t.c * hw
          let dst = yp.baseAddress! + (img * channels + offset) * hw
          dst.update(from: src, count: t.c * hw)
        }
      }
      offset += t.c
    }
  }
  return y
}

/// The gradient of a channel concatenation: dy split back into one tensor per input.
/// (A sum `add_forward` needs no backward kernel: both operands receive dy unchanged.)
/// dOutput: [N, ΣC_i, H, W], channels: C_i of each input -> [N, C_i, H, W] each
public func concat_channels_backward(_ dOutput: Tensor, channels: [Int]) throws(TensorError) -> [Tensor] {
  guard dOutput.rank == 4, channels.allSatisfy({ $0 >= 0 }), channels.reduce(0, +) == dOutput.c else {
    throw .shapeMismatch("cannot split a gradient \(dOutput.shape) into channel groups \(channels)")
  }
  let (n, hw) = (dOutput.n, dOutput.h * dOutput.w)
  var parts: [Tensor] = []
  var offset = 0
  dOutput.withUnsafeBufferPointer { dyp in
    for c in channels {
      var part = Tensor(zeros: [n, c, dOutput.h, dOutput.w])
      part.withUnsafeMutableBufferPointer { pp in
        for img in 0..<n {
          (pp.baseAddress! + img * c * hw).update(
            from: dyp.baseAddress! + (img * dOutput.c + offset) * hw, count: c * hw)
        }
      }
      parts.append(part)
      offset += c
    }
  }
  return parts
}
