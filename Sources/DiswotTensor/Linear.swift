import COpenBLAS

/// y = x · Wᵀ + b, PyTorch's `nn.Linear` (weight stored [out, in]).
/// x: [N, in], weight: [out, in], bias: [out] -> y: [N, out]
public func linear_forward(_ x: Tensor, weight: Tensor, bias: Tensor?) throws(TensorError) -> Tensor {
  guard x.rank == 2, weight.rank == 2, x.shape[1] == weight.shape[1] else {
    throw .shapeMismatch("linear layer with weight \(weight.shape) got input \(x.shape)")
  }
  let (n, inFeatures, outFeatures) = (x.shape[0], x.shape[1], weight.shape[0])
  if let bias, bias.shape != [outFeatures] {
    throw .shapeMismatch("linear bias \(bias.shape) for \(outFeatures) outputs")
  }
  var y = Tensor(zeros: [n, outFeatures])
  y.withUnsafeMutableBufferPointer { yp in
    if let bias {
      for row in 0..<n {
        for o in 0..<outFeatures { yp[row * outFeatures + o] = bias.storage[o] }
      }
    }
    x.withUnsafeBufferPointer { xp in
      weight.withUnsafeBufferPointer { wp in
        cblas_sgemm(
          CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(outFeatures), Int32(inFeatures),
          1, xp.baseAddress, Int32(inFeatures), wp.baseAddress, Int32(inFeatures),
          bias == nil ? 0 : 1, yp.baseAddress, Int32(outFeatures))
      }
    }
  }
  return y
}
