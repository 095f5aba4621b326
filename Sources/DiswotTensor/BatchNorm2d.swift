/// Batch normalisation over the channels of an NCHW tensor, as PyTorch's `BatchNorm2d`.
///
/// Training mode normalises with the batch's own statistics (biased variance) and moves
/// the running statistics towards them with `momentum` (PyTorch's convention:
/// `running = (1 - momentum) * running + momentum * batch`), storing the *unbiased*
/// batch variance in `runningVar`. Inference mode uses the running statistics.

/// Per-channel affine parameters and running statistics, each of length C, and how many
/// batches the running statistics have absorbed.
public struct BatchNormState: Sendable, Equatable {
  public var weight: Tensor
  public var bias: Tensor
  public var runningMean: Tensor
  public var runningVar: Tensor
  /// PyTorch's `num_batches_tracked`: a scalar (shape []) counting the training-mode
  /// passes that updated the running statistics. Nothing here reads it (momentum is
  /// fixed, as in PyTorch unless `momentum=None`); it is kept so that a state dict
  /// round-trips and says honestly how its statistics were made. A whole number held as
  /// `Float` like every state tensor: exact up to 2²⁴ updates, far beyond any run here.
  public var batchesTracked: Tensor

  /// PyTorch's freshly constructed state: weight 1, bias 0, mean 0, variance 1, no
  /// batches tracked.
  public init(channels: Int) {
    weight = Tensor(zeros: [channels], value: 1)
    bias = Tensor(zeros: [channels])
    runningMean = Tensor(zeros: [channels])
    runningVar = Tensor(zeros: [channels], value: 1)
    batchesTracked = Tensor(zeros: [])
  }

  public var channels: Int { weight.count }
}

/// What a training-mode forward pass keeps for the backward pass: per-channel batch mean
/// and 1/sqrt(var + eps).
public struct BatchNormBatchStatistics: Sendable, Equatable {
  public var mean: [Float]
  public var invStd: [Float]
}

private func checkBatchNormShapes(_ x: Tensor, _ state: BatchNormState) throws(TensorError) {
  guard x.rank == 4, x.c == state.channels else {
    throw .shapeMismatch("batch norm over \(state.channels) channels got input \(x.shape)")
  }
}

/// y = (x - runningMean) / sqrt(runningVar + eps) * weight + bias.
/// x: [N, C, H, W] -> y: [N, C, H, W]
public func batchnorm2d_forward_inference(
  _ x: Tensor, state: BatchNormState, eps: Float = 1e-5
) throws(TensorError) -> Tensor {
  try checkBatchNormShapes(x, state)
  let (n, c, hw) = (x.n, x.c, x.h * x.w)
  var scale = [Float](repeating: 0, count: c), shift = scale
  for ch in 0..<c {
    let s = state.weight.storage[ch] / (state.runningVar.storage[ch] + eps).squareRoot()
    scale[ch] = s
    shift[ch] = state.bias.storage[ch] - state.runningMean.storage[ch] * s
  }
  return applyChannelAffine(x, scale: scale, shift: shift, n: n, c: c, hw: hw)
}

/// Normalises with batch statistics and, when asked, updates the running statistics in
/// `state` (counting the update in `batchesTracked`).
/// x: [N, C, H, W] -> y: [N, C, H, W]; statistics over N·H·W values per channel.
public func batchnorm2d_forward_training(
  _ x: Tensor, state: inout BatchNormState, momentum: Float = 0.1, eps: Float = 1e-5,
  updateRunningStatistics: Bool = true
) throws(TensorError) -> (output: Tensor, statistics: BatchNormBatchStatistics) {
  try checkBatchNormShapes(x, state)
  let (n, c, hw) = (x.n, x.c, x.h * x.w)
  let count = n * hw
  guard count > 1 || !updateRunningStatistics else {
    throw .invalidArgument("batch norm in training mode needs more than one value per channel, got input \(x.shape)")
  }
  var mean = [Float](repeating: 0, count: c), variance = mean
  x.withUnsafeBufferPointer { xp in
    mean.withUnsafeMutableBufferPointer { meanp in
      variance.withUnsafeMutableBufferPointer { varp in
        Parallel.forEach(c) { ch in
          // Per image plane: mean and squared deviations while the plane is in L1, then
          // planes merged exactly in Double (Chan et al.'s pairwise update), so one pass
          // over memory gives a two-pass-accurate variance.
          var total = 0.0, runningMean = 0.0, m2 = 0.0
          for img in 0..<n {
            let (planeMean, planeM2) = planeMoments(xp.baseAddress! + (img * c + ch) * hw, hw)
            let merged = total + Double(hw)
            let delta = planeMean - runningMean
            runningMean += delta * Double(hw) / merged
            m2 += planeM2 + delta * delta * total * Double(hw) / merged
            total = merged
          }
          meanp[ch] = Float(runningMean)
          varp[ch] = Float(m2 / total)
        }
      }
    }
  }
  var scale = [Float](repeating: 0, count: c), shift = scale, invStd = scale
  for ch in 0..<c {
    invStd[ch] = 1 / (variance[ch] + eps).squareRoot()
    scale[ch] = state.weight.storage[ch] * invStd[ch]
    shift[ch] = state.bias.storage[ch] - mean[ch] * scale[ch]
  }
  if updateRunningStatistics {
    let unbiased = Float(count) / Float(count - 1)
    for ch in 0..<c {
      state.runningMean.storage[ch] = (1 - momentum) * state.runningMean.storage[ch] + momentum * mean[ch]
      state.runningVar.storage[ch] =
        (1 - momentum) * state.runningVar.storage[ch] + momentum * variance[ch] * unbiased
    }
    state.batchesTracked.storage[0] += 1
  }
  let y = applyChannelAffine(x, scale: scale, shift: shift, n: n, c: c, hw: hw)
  return (y, BatchNormBatchStatistics(mean: mean, invStd: invStd))
}

/// Mean and sum of squared deviations of `count` floats, with 8-lane accumulators so the
/// loops vectorise (a scalar float reduction cannot be reordered by the compiler).
@inline(__always)
private func planeMoments(_ p: UnsafePointer<Float>, _ count: Int) -> (mean: Double, m2: Double) {
  let lanes = count / 8 * 8
  var acc = SIMD8<Float>()
  for i in stride(from: 0, to: lanes, by: 8) { acc += UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self) }
  var sum = Double(acc.sum())
  for i in lanes..<count { sum += Double(p[i]) }
  let mean = sum / Double(count)
  let m = Float(mean)
  var sq = SIMD8<Float>()
  for i in stride(from: 0, to: lanes, by: 8) {
    let d = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self) - SIMD8(repeating: m)
    sq += d * d
  }
  var m2 = Double(sq.sum())
  for i in lanes..<count { let d = Double(p[i]) - mean; m2 += d * d }
  return (mean, m2)
}

/// y[n, c, :] = x[n, c, :] * scale[c] + shift[c]
private func applyChannelAffine(_ x: Tensor, scale: [Float], shift: [Float], n: Int, c: Int, hw: Int) -> Tensor {
  var y = Tensor(zeros: x.shape)
  x.withUnsafeBufferPointer { xp in
    y.withUnsafeMutableBufferPointer { yp in
      let (xb, yb) = (xp.baseAddress!, yp.baseAddress!)
      Parallel.forEach(n * c) { plane in
        let (s, t) = (scale[plane % c], shift[plane % c])
        let src = xb + plane * hw, dst = yb + plane * hw
        for i in 0..<hw { dst[i] = src[i] * s + t }
      }
    }
  }
  return y
}
