#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DiswotModels
import DiswotTensor

/// Which per-channel variance Zen-score's batch-norm term averages.
public enum ZenBatchNormScale: Sendable, Equatable {
  /// What the reference code reads (idstcv/ZenNAS, ZeroShotProxy/compute_zen_score.py,
  /// computed the same way by DisWOT's predictor/pruners/measures/zen.py): PyTorch's
  /// `running_var` of batch norms built fresh (running variance 1) with this momentum
  /// (0.1, PyTorch's default, which ZenNAS's networks keep), after both forward passes of
  /// every repeat so far. Its running_var is not the batch variance: after one repeat it
  /// is (1−m)²·1 + m(1−m)·σ²(x) + m·σ²(x+αε), and it carries over between repeats because
  /// the reference re-draws weights but never resets batch-norm buffers. Emulated exactly
  /// here, except that PyTorch stores the unbiased batch variance (factor N/(N−1), N =
  /// B·H·W values per channel) where this uses the biased one the engine reports; the
  /// difference is about 1/(2N) per batch-norm layer in the score.
  case runningVariance(momentum: Double)
  /// The paper's Algorithm 1 (Lin et al., ICCV 2021): σ̄_i = sqrt(mean_j σ²_{i,j}) with
  /// σ_{i,j} the mini-batch standard deviation, taken on the unperturbed pass.
  case batchVariance

  /// The reference code's behaviour with PyTorch's default momentum.
  public static let reference = ZenBatchNormScale.runningVariance(momentum: 0.1)
}

/// Zen-score (Lin et al., ICCV 2021, "Zen-NAS"): how strongly a network's pre-pooling
/// features respond to a small input perturbation, corrected for batch norm's rescaling.
///
/// Per repeat, as compute_zen_score.py does: x and ε drawn N(0, 1) in `inputShape`;
/// both x and x + α·ε go through the network with batch norm on batch statistics;
/// Δ = mean over the batch of Σ_{c,h,w} |f(x) − f(x + αε)| (the L1 norm of each sample's
/// feature-map difference, where the paper writes a Frobenius norm), and
/// score = log Δ + Σ_BN log sqrt(mean_c σ²_c). The result is the mean over repeats of
/// these logs. The model's running statistics are never changed (the running variance of
/// `ZenBatchNormScale.runningVariance` is emulated from the observed batch variances).
///
/// Left to the caller, since `forward` is a fixed network: the reference draws fresh
/// N(0, 1) weights (batch-norm weight 1, bias 0) before every repeat and, in its search,
/// builds networks without residual links; here every repeat reuses the same weights and
/// only the inputs are redrawn. A network without batch norm gets no correction term.
/// Δ = 0 (a network blind to its input) gives −infinity.
/// inputShape: [B, C, H, W]; forward returns features [B, C', H', W']
public func zenScore(
  forward: (Tensor, ForwardMode) throws -> ClassifierOutput, inputShape: [Int], repeats: Int,
  alpha: Float = 0.01, batchNormScale: ZenBatchNormScale = .reference, rng: inout SeededGenerator
) throws -> Double {
  guard !inputShape.isEmpty, inputShape.allSatisfy({ $0 > 0 }) else {
    throw ScoringError.invalidArgument("Zen-score needs a non-empty input shape, got \(inputShape)")
  }
  guard repeats > 0 else {
    throw ScoringError.invalidArgument("Zen-score needs at least one repeat, got \(repeats)")
  }
  if case .runningVariance(let momentum) = batchNormScale, !(momentum > 0 && momentum <= 1) {
    throw ScoringError.invalidArgument("batch-norm momentum must be in (0, 1], got \(momentum)")
  }
  let recorder = BatchNormRecorder()
  let mode = ForwardMode(batchNorm: .training(updateRunningStatistics: false), observer: recorder)
  // Emulated mean running variance of each batch norm, in forward order.
  var running: [Double]?
  var total = 0.0
  for _ in 0..<repeats {
    let x = Tensor.normal(inputShape, using: &rng)
    var perturbed = Tensor.normal(inputShape, using: &rng)
    for i in 0..<perturbed.count { perturbed.storage[i] = x.storage[i] + alpha * perturbed.storage[i] }
    let clean = try recorder.pass { try forward(x, mode).features }
    let noisy = try recorder.pass { try forward(perturbed, mode).features }
    guard clean.output.shape == noisy.output.shape, clean.output.rank >= 1, clean.output.count > 0 else {
      throw ScoringError.shapeMismatch("features \(clean.output.shape) and \(noisy.output.shape) of the two Zen-score passes")
    }
    guard clean.variances.count == noisy.variances.count else {
      throw ScoringError.shapeMismatch("\(clean.variances.count) and \(noisy.variances.count) batch norms in the two Zen-score passes")
    }
    var logScale = 0.0
    switch batchNormScale {
    case .batchVariance:
      for v in clean.variances { logScale += 0.5 * log(v) }
    case .runningVariance(let m):
      var r = running ?? [Double](repeating: 1, count: clean.variances.count)
      guard r.count == clean.variances.count else {
        throw ScoringError.shapeMismatch("the network ran \(clean.variances.count) batch norms, earlier \(r.count)")
      }
      for layer in r.indices {
        r[layer] = (1 - m) * r[layer] + m * clean.variances[layer]
        r[layer] = (1 - m) * r[layer] + m * noisy.variances[layer]
        logScale += 0.5 * log(r[layer])
      }
      running = r
    }
    total += log(meanAbsoluteDifference(clean.output, noisy.output)) + logScale
  }
  return total / Double(repeats)
}

/// Mean over the batch of Σ |a − b| over each sample's elements, in Double. a, b: [B, …]
private func meanAbsoluteDifference(_ a: Tensor, _ b: Tensor) -> Double {
  var sum = 0.0
  a.withUnsafeBufferPointer { ap in
    b.withUnsafeBufferPointer { bp in
      for i in 0..<ap.count { sum += Double(abs(ap[i] - bp[i])) }
    }
  }
  return sum / Double(a.shape[0])
}

/// Collects mean_c σ²_c of every batch norm of a forward pass, in forward order.
private final class BatchNormRecorder: ForwardObserver {
  private var means: [Double] = []

  /// Runs one forward pass and returns its result with the variances it reported.
  func pass(_ body: () throws -> Tensor) rethrows -> (output: Tensor, variances: [Double]) {
    means.removeAll(keepingCapacity: true)
    let output = try body()
    return (output, means)
  }

  func observeActivation(_ output: Tensor) {}

  func observeBatchNorm(variance: [Float]) {
    var sum = 0.0
    for v in variance { sum += Double(v) }
    means.append(sum / Double(variance.count))
  }
}
