import DiswotTensor

/// Number of rows whose largest logit is at the label's index (top-1 hits).
/// Ties go to the lowest index, as `argmax` in PyTorch does.
/// logits: [N, K], labels: N values in 0..<K
public func top1Correct(logits: Tensor, labels: [Int]) -> Int {
  precondition(logits.rank == 2 && logits.shape[0] == labels.count, "logits \(logits.shape) for \(labels.count) labels")
  let k = logits.shape[1]
  var correct = 0
  logits.withUnsafeBufferPointer { p in
    for (row, label) in labels.enumerated() {
      var best = 0
      for j in 1..<k where p[row * k + j] > p[row * k + best] { best = j }
      if best == label { correct += 1 }
    }
  }
  return correct
}
