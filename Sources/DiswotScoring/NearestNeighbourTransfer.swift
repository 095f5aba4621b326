import DiswotTensor

/// How well a frozen network's penultimate features separate a target dataset's classes:
/// the leave-one-out accuracy of a k-nearest-neighbour classifier on them, by cosine
/// similarity. It ranks candidate teachers (`diswot teachers`) without training anything.
///
/// Why this measure: it needs no classifier head, so a teacher trained on other classes (or
/// on a different number of them) is scored exactly like one trained on the target's; it
/// has one interpretable hyperparameter and no fitting (LogME's evidence needs a fixed-point
/// iteration per class, a ridge probe a regularisation choice); it is invariant to a
/// feature's scale, so networks of different widths compare on one axis, an accuracy in
/// [0, 1]; and it costs one N×N Gram matrix, a small fraction of the forward passes.
///
/// Definition (every detail, since the ranking depends on them): features are L2-normalised
/// per image (an all-zero feature stays zero, similarity 0 to everything); image i's
/// neighbours are the k images j ≠ i of largest cosine similarity, equal similarities
/// broken by the smaller index j; the prediction is the class with the most neighbours,
/// a tie between classes going to the tied class whose closest neighbour ranks first. The
/// score is the fraction of images whose prediction is their label.
public enum NearestNeighbourTransfer {
  /// features: [N, D] (row-major) -> accuracy in [0, 1] and the number of correct images.
  /// Needs N ≥ 2 and 1 ≤ k ≤ N − 1; labels in 0..<classCount.
  public static func accuracy(
    features: [Float], rows n: Int, labels: [Int], classCount: Int, k: Int
  ) throws(ScoringError) -> (accuracy: Double, correct: Int) {
    guard n >= 2, features.count % n == 0, labels.count == n else {
      throw .shapeMismatch("\(features.count) feature values, \(labels.count) labels for \(n) images (at least 2)")
    }
    guard k >= 1, k <= n - 1 else { throw .invalidArgument("k = \(k) for \(n) images: needs 1 ≤ k ≤ \(n - 1)") }
    guard classCount >= 1, labels.allSatisfy({ (0..<classCount).contains($0) }) else {
      throw .invalidArgument("a label outside 0..<\(classCount)")
    }
    let d = features.count / n
    // Normalise in Double, so that the ranking of near-equal similarities is not float noise.
    var unit = features.map(Double.init)
    for i in 0..<n {
      var norm = 0.0
      for c in 0..<d { norm += unit[i * d + c] * unit[i * d + c] }
      norm = norm.squareRoot()
      if norm > 0 { for c in 0..<d { unit[i * d + c] /= norm } }
    }
    var gram = [Double](repeating: 0, count: n * n)
    unit.withUnsafeBufferPointer { u in
      gram.withUnsafeMutableBufferPointer { g in
        BLAS.dgemm(transposeB: true, m: n, n: n, k: d, a: u.baseAddress, lda: d, b: u.baseAddress, ldb: d,
                   c: g.baseAddress, ldc: n)
      }
    }
    var correct = 0
    var order = [Int](repeating: 0, count: n - 1)
    var votes = [Int](repeating: 0, count: classCount)
    var firstRank = [Int](repeating: 0, count: classCount)
    for i in 0..<n {
      var m = 0
      for j in 0..<n where j != i { order[m] = j; m += 1 }
      let row = i * n
      order.sort { a, b in gram[row + a] != gram[row + b] ? gram[row + a] > gram[row + b] : a < b }
      for c in 0..<classCount { votes[c] = 0; firstRank[c] = Int.max }
      for rank in 0..<k {
        let label = labels[order[rank]]
        votes[label] += 1
        firstRank[label] = min(firstRank[label], rank)
      }
      var best = 0
      for c in 1..<classCount where votes[c] > votes[best] || (votes[c] == votes[best] && firstRank[c] < firstRank[best]) {
        best = c
      }
      if best == labels[i] { correct += 1 }
    }
    return (Double(correct) / Double(n), correct)
  }
}
