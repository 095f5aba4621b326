#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DiswotTensor

/// The batch's mean cross-entropy, its gradient and how many predictions were right.
public struct CrossEntropyResult: Sendable, Equatable {
  /// Mean over the batch of −Σ_j q_j log softmax(z)_j.
  public let value: Double
  /// ∂value/∂logits = (softmax(z) − q) / B: [B, K]
  public let logitsGradient: Tensor
  /// Samples whose largest logit is at the label (ties go to the lowest class index).
  public let correct: Int
}

/// Cross-entropy with optional label smoothing, PyTorch's
/// `F.cross_entropy(logits, labels, label_smoothing: ε)` with the default mean reduction:
///
///   q = (1 − ε)·onehot(y) + ε/K,   loss = (1/B) Σ_i −Σ_j q_ij · log softmax(z_i)_j,
///   ∂loss/∂z_ij = (softmax(z_i)_j − q_ij) / B.
///
/// (RepDistiller's `criterion_cls = nn.CrossEntropyLoss()` in `train_student.py` is the
/// ε = 0 case.) The log-softmax subtracts each row's maximum before exponentiating, so
/// large logits cannot overflow; non-finite logits give a NaN value rather than an error.
/// logits: [B, K], labels: B values in 0..<K, labelSmoothing ε in [0, 1]
public func crossEntropyLoss(
  logits: Tensor, labels: [Int], labelSmoothing: Double = 0
) throws(LossError) -> CrossEntropyResult {
  let (b, k) = try validateLogits(logits, labels: labels)
  guard (0...1).contains(labelSmoothing) else {
    throw .invalidArgument("label smoothing \(labelSmoothing) outside [0, 1]")
  }
  let core = LossMath.crossEntropy(
    logits: LossMath.doubles(logits), batch: b, classes: k, labels: labels, smoothing: labelSmoothing)
  return CrossEntropyResult(
    value: core.value, logitsGradient: LossMath.tensor([b, k], core.gradient), correct: core.correct)
}

/// Checks logits are [B, K] with B, K > 0 and labels are B values in 0..<K.
func validateLogits(_ logits: Tensor, labels: [Int]) throws(LossError) -> (batch: Int, classes: Int) {
  guard logits.rank == 2, logits.shape[0] > 0, logits.shape[1] > 0 else {
    throw .shapeMismatch("logits \(logits.shape) must be a non-empty [B, K]")
  }
  let (b, k) = (logits.shape[0], logits.shape[1])
  guard labels.count == b else {
    throw .shapeMismatch("\(labels.count) labels for a batch of \(b)")
  }
  if let bad = labels.first(where: { !(0..<k).contains($0) }) {
    throw .invalidArgument("label \(bad) outside 0..<\(k)")
  }
  return (b, k)
}

extension LossMath {
  /// Cross-entropy in Double; see `crossEntropyLoss`.
  /// logits: [B, K] -> value, gradient [B, K], correct
  static func crossEntropy(
    logits z: [Double], batch b: Int, classes k: Int, labels: [Int], smoothing ε: Double
  ) -> (value: Double, gradient: [Double], correct: Int) {
    let (p, lse) = softmaxRows(z, rows: b, columns: k)
    var gradient = p
    var total = 0.0
    var correct = 0
    let offTarget = ε / Double(k), onTarget = 1 - ε + ε / Double(k)
    for i in 0..<b {
      let base = i * k
      var loss = 0.0
      var best = 0
      for j in 0..<k {
        let q = j == labels[i] ? onTarget : offTarget
        if q != 0 { loss -= q * (z[base + j] - lse[i]) }
        gradient[base + j] = (p[base + j] - q) / Double(b)
        if z[base + j] > z[base + best] { best = j }
      }
      total += loss
      if best == labels[i] { correct += 1 }
    }
    return (total / Double(b), gradient, correct)
  }
}
