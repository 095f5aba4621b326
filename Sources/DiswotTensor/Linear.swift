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
        BLAS.sgemm(
          transposeB: true, m: n, n: outFeatures, k: inFeatures, a: xp.baseAddress, lda: inFeatures,
          b: wp.baseAddress, ldb: inFeatures, beta: bias == nil ? 0 : 1, c: yp.baseAddress, ldc: outFeatures)
      }
    }
  }
  return y
}

/// Gradients of `linear_forward`: dx = dy·W, dW += dyᵀ·x, db += Σ_rows dy (Double sums).
/// x: [N, in], weight: [out, in], dOutput: [N, out]
/// dWeight: [out, in] (+=), dBias: [out] (+=) or nil, both untouched when
/// `computeParameterGradients` is false -> dInput: [N, in], or nil when
/// `computeInputGradient` is false
public func linear_backward(
  _ x: Tensor, weight: Tensor, dOutput: Tensor, dWeight: inout Tensor, dBias: inout Tensor?,
  computeInputGradient: Bool = true, computeParameterGradients: Bool = true
) throws(TensorError) -> Tensor? {
  guard x.rank == 2, weight.rank == 2, x.shape[1] == weight.shape[1] else {
    throw .shapeMismatch("linear layer with weight \(weight.shape) got input \(x.shape)")
  }
  let (n, inFeatures, outFeatures) = (x.shape[0], x.shape[1], weight.shape[0])
  guard dOutput.shape == [n, outFeatures] else {
    throw .shapeMismatch("linear output gradient \(dOutput.shape), expected [\(n), \(outFeatures)]")
  }
  guard dWeight.shape == weight.shape else {
    throw .shapeMismatch("linear weight gradient \(dWeight.shape) for weight \(weight.shape)")
  }
  if let dBias, dBias.shape != [outFeatures] {
    throw .shapeMismatch("linear bias gradient \(dBias.shape) for \(outFeatures) outputs")
  }
  guard n > 0, inFeatures > 0, outFeatures > 0 else {
    return computeInputGradient ? Tensor(zeros: x.shape) : nil
  }
  if dBias != nil && computeParameterGradients {
    dOutput.withUnsafeBufferPointer { dy in
      for o in 0..<outFeatures {
        var total = 0.0
        for row in 0..<n { total += Double(dy[row * outFeatures + o]) }
        dBias!.storage[o] += Float(total)
      }
    }
  }
  var dx: Tensor? = computeInputGradient ? Tensor(zeros: x.shape) : nil
  x.withUnsafeBufferPointer { xp in
    weight.withUnsafeBufferPointer { wp in
      dOutput.withUnsafeBufferPointer { dyp in
        if computeParameterGradients {
          dWeight.withUnsafeMutableBufferPointer { dwp in
            // dW [out, in] += dyᵀ [out, N] · x [N, in]
            gemm(
              transposeA: true, transposeB: false, m: outFeatures, n: inFeatures, k: n,
              a: dyp.baseAddress!, lda: outFeatures, b: xp.baseAddress!, ldb: inFeatures, beta: 1,
              c: dwp.baseAddress!, ldc: inFeatures)
          }
        }
        withOptionalMutablePointer(&dx) { dxp in
          guard let dxp else { return }
          // dx [N, in] = dy [N, out] · W [out, in]
          gemm(
            transposeA: false, transposeB: false, m: n, n: inFeatures, k: outFeatures,
            a: dyp.baseAddress!, lda: outFeatures, b: wp.baseAddress!, ldb: inFeatures, beta: 0,
            c: dxp, ldc: inFeatures)
        }
      }
    }
  }
  return dx
}
