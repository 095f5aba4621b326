#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DiswotTensor

/// Gradient of the batch's mean cross-entropy with respect to the classifier weight:
/// G = (softmax(z) − onehot(y))ᵀ h / B.
///
/// DisWOT compares how student and teacher would *move* their classifiers on the probe
/// batch; for a network ending in global pooling and one linear layer this gradient has
/// the closed form above, so scoring needs no backward pass. Accumulated in Double
/// (B·K·C is small); softmax subtracts each row's maximum so large logits cannot overflow.
/// Non-finite logits give NaN entries rather than an error: a degenerate network then
/// scores NaN, which a search ranks last.
/// pooled: [B, C], logits: [B, K], labels: B values in 0..<K -> [K, C]
public func classifierGradient(pooled: Tensor, logits: Tensor, labels: [Int]) throws(ScoringError) -> Tensor {
  guard pooled.rank == 2, logits.rank == 2, pooled.shape[0] == logits.shape[0] else {
    throw .shapeMismatch("pooled features \(pooled.shape) and logits \(logits.shape) must be [B, C] and [B, K]")
  }
  let (b, c, k) = (pooled.shape[0], pooled.shape[1], logits.shape[1])
  guard b > 0, c > 0, k > 0 else {
    throw .invalidArgument("classifier gradient needs a non-empty batch, channels and classes, got pooled \(pooled.shape), logits \(logits.shape)")
  }
  guard labels.count == b else {
    throw .shapeMismatch("\(labels.count) labels for a batch of \(b)")
  }
  if let bad = labels.first(where: { !(0..<k).contains($0) }) {
    throw .invalidArgument("label \(bad) outside 0..<\(k)")
  }
  // residual[i, j] = p[i, j] − [j == y_i]: [B, K]
  var residual = [Double](repeating: 0, count: b * k)
  logits.withUnsafeBufferPointer { z in
    for i in 0..<b {
      let row = z.baseAddress! + i * k
      var top = Double(row[0])
      for j in 1..<k { top = max(top, Double(row[j])) }
      var sum = 0.0
      for j in 0..<k {
        let e = exp(Double(row[j]) - top)
        residual[i * k + j] = e
        sum += e
      }
      for j in 0..<k { residual[i * k + j] /= sum }
      residual[i * k + labels[i]] -= 1
    }
  }
  // g[j, :] = Σ_i residual[i, j] · h[i, :]: [K, C]
  var g = [Double](repeating: 0, count: k * c)
  pooled.withUnsafeBufferPointer { h in
    for i in 0..<b {
      let hRow = h.baseAddress! + i * c
      for j in 0..<k {
        let r = residual[i * k + j]
        for ch in 0..<c { g[j * c + ch] += r * Double(hRow[ch]) }
      }
    }
  }
  var gradient = Tensor(zeros: [k, c])
  for index in 0..<(k * c) { gradient.storage[index] = Float(g[index] / Double(b)) }
  return gradient
}
