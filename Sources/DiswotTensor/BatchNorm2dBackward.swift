/// Gradients of batch normalisation (`BatchNorm2d.swift`).
///
/// Per channel, over the M = N·H·W values with x̂ = (x − mean)·invStd and y = γ·x̂ + β:
///   dβ += Σ dy,   dγ += Σ dy·x̂
///   training mode (mean and invStd are the batch's own, so they depend on x):
///     dx = γ·invStd/M · (M·dy − Σdy − x̂·Σ(dy·x̂))
///   inference mode (running statistics are constants): dx = γ·invStd·dy
/// Both sums are accumulated per image plane in Float lanes and across planes in Double,
/// so a long batch does not lose the small terms. The backward pass recomputes x̂ from
/// the forward input rather than storing it: one tensor fewer to keep per layer.

/// x: the forward input [N, C, H, W], dOutput: [N, C, H, W]
/// dWeight, dBias: [C] (+=; untouched when `computeParameterGradients` is false, though
/// dx needs the same sums) -> dInput: [N, C, H, W]
public func batchnorm2d_backward_training(
  _ x: Tensor, dOutput: Tensor, state: BatchNormState, statistics: BatchNormBatchStatistics,
  dWeight: inout Tensor, dBias: inout Tensor, computeParameterGradients: Bool = true
) throws(TensorError) -> Tensor {
  try checkBatchNormGradientShapes(
    x, dOutput: dOutput, channels: state.channels, statistics: statistics, dWeight: dWeight,
    dBias: dBias)
  let c = x.c
  let count = x.n * x.h * x.w
  let (sumDy, sumDyXhat) = batchNormGradientSums(x, dOutput: dOutput, statistics: statistics)
  // dx = a·dy + b·(x − mean) + shift with a = γ·invStd, b = −a·invStd·Σ(dy·x̂)/M,
  // shift = −a·Σdy/M (centring first keeps a large mean from cancelling).
  var a = [Float](repeating: 0, count: c), b = a, shift = a
  for ch in 0..<c {
    let invStd = statistics.invStd[ch]
    a[ch] = state.weight.storage[ch] * invStd
    b[ch] = -a[ch] * invStd * Float(sumDyXhat[ch] / Double(count))
    shift[ch] = -a[ch] * Float(sumDy[ch] / Double(count))
  }
  if computeParameterGradients {
    accumulateBatchNormParameterGradients(sumDy, sumDyXhat, dWeight: &dWeight, dBias: &dBias)
  }
  return try batchNormInputGradient(
    x, dOutput: dOutput, mean: statistics.mean, a: a, b: b, shift: shift)
}

/// Inference mode: the running statistics are constants, so batch norm is a per-channel
/// affine map (frozen batch norm in a trained network).
///
/// x: the forward input [N, C, H, W], dOutput: [N, C, H, W]
/// dWeight, dBias: [C] (+=; untouched when `computeParameterGradients` is false)
/// -> dInput: [N, C, H, W]
public func batchnorm2d_backward_inference(
  _ x: Tensor, dOutput: Tensor, state: BatchNormState, eps: Float = 1e-5,
  dWeight: inout Tensor, dBias: inout Tensor, computeParameterGradients: Bool = true
) throws(TensorError) -> Tensor {
  let statistics = BatchNormBatchStatistics(
    mean: state.runningMean.storage, invStd: state.runningVar.storage.map { 1 / ($0 + eps).squareRoot() })
  try checkBatchNormGradientShapes(
    x, dOutput: dOutput, channels: state.channels, statistics: statistics, dWeight: dWeight,
    dBias: dBias)
  if computeParameterGradients {
    let (sumDy, sumDyXhat) = batchNormGradientSums(x, dOutput: dOutput, statistics: statistics)
    accumulateBatchNormParameterGradients(sumDy, sumDyXhat, dWeight: &dWeight, dBias: &dBias)
  }
  let a = (0..<x.c).map { state.weight.storage[$0] * statistics.invStd[$0] }
  let zeros = [Float](repeating: 0, count: x.c)
  return try batchNormInputGradient(x, dOutput: dOutput, mean: zeros, a: a, b: zeros, shift: zeros)
}

private func checkBatchNormGradientShapes(
  _ x: Tensor, dOutput: Tensor, channels: Int, statistics: BatchNormBatchStatistics,
  dWeight: Tensor, dBias: Tensor
) throws(TensorError) {
  guard x.rank == 4, x.c == channels else {
    throw .shapeMismatch("batch norm over \(channels) channels got input \(x.shape)")
  }
  guard dOutput.shape == x.shape else {
    throw .shapeMismatch("batch norm output gradient \(dOutput.shape) for input \(x.shape)")
  }
  guard statistics.mean.count == channels, statistics.invStd.count == channels else {
    throw .shapeMismatch(
      "batch norm statistics for \(statistics.mean.count) channels, layer has \(channels)")
  }
  guard dWeight.shape == [channels], dBias.shape == [channels] else {
    throw .shapeMismatch(
      "batch norm parameter gradients \(dWeight.shape), \(dBias.shape), expected [\(channels)]")
  }
}

/// Per channel Σdy and Σdy·x̂ with x̂ = (x − mean)·invStd.
private func batchNormGradientSums(
  _ x: Tensor, dOutput: Tensor, statistics: BatchNormBatchStatistics
) -> (sumDy: [Double], sumDyXhat: [Double]) {
  let (n, c, hw) = (x.n, x.c, x.h * x.w)
  var sumDy = [Double](repeating: 0, count: c), sumDyXhat = sumDy
  x.withUnsafeBufferPointer { xp in
    dOutput.withUnsafeBufferPointer { dyp in
      sumDy.withUnsafeMutableBufferPointer { sdy in
        sumDyXhat.withUnsafeMutableBufferPointer { sdx in
          Parallel.forEach(c) { ch in
            let mean = statistics.mean[ch]
            var total = 0.0, totalCentred = 0.0
            for img in 0..<n {
              let offset = (img * c + ch) * hw
              let (plain, centred) = planeDotSums(
                dyp.baseAddress! + offset, xp.baseAddress! + offset, mean: mean, count: hw)
              total += Double(plain)
              totalCentred += Double(centred)
            }
            sdy[ch] = total
            sdx[ch] = totalCentred * Double(statistics.invStd[ch])
          }
        }
      }
    }
  }
  return (sumDy, sumDyXhat)
}

/// Σ dy and Σ dy·(x − mean) over one plane, in eight Float lanes so the loop vectorises.
@inline(__always)
private func planeDotSums(
  _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, mean: Float, count: Int
) -> (Float, Float) {
  let lanes = count / 8 * 8
  var plain = SIMD8<Float>(), centred = SIMD8<Float>()
  let m = SIMD8<Float>(repeating: mean)
  for i in stride(from: 0, to: lanes, by: 8) {
    let g = UnsafeRawPointer(dy + i).loadUnaligned(as: SIMD8<Float>.self)
    let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
    plain += g
    centred += g * (v - m)
  }
  var p = plain.sum(), q = centred.sum()
  for i in lanes..<count {
    p += dy[i]
    q += dy[i] * (x[i] - mean)
  }
  return (p, q)
}

private func accumulateBatchNormParameterGradients(
  _ sumDy: [Double], _ sumDyXhat: [Double], dWeight: inout Tensor, dBias: inout Tensor
) {
  for ch in 0..<sumDy.count {
    dBias.storage[ch] += Float(sumDy[ch])
    dWeight.storage[ch] += Float(sumDyXhat[ch])
  }
}

/// dx[n, c, :] = a[c]·dy[n, c, :] + b[c]·(x[n, c, :] − mean[c]) + shift[c]
private func batchNormInputGradient(
  _ x: Tensor, dOutput: Tensor, mean: [Float], a: [Float], b: [Float], shift: [Float]
) throws(TensorError) -> Tensor {
  let (n, c, hw) = (x.n, x.c, x.h * x.w)
  // Every element is written below, so the buffer is not zero-filled first.
  return try makeTensor(shape: x.shape) { dxb in
    x.withUnsafeBufferPointer { xp in
      dOutput.withUnsafeBufferPointer { dyp in
        let (xb, dyb) = (xp.baseAddress!, dyp.baseAddress!)
        Parallel.forEach(n * c) { plane in
          let ch = plane % c
          let (sa, sb, st, m) = (a[ch], b[ch], shift[ch], mean[ch])
          let src = xb + plane * hw, g = dyb + plane * hw, dst = dxb + plane * hw
          for i in 0..<hw { dst[i] = sa * g[i] + sb * (src[i] - m) + st }
        }
      }
    }
  }
}
