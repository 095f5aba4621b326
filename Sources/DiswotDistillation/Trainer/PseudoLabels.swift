#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DiswotData
import DiswotModels
import DiswotTensor

/// Pseudo-label distillation: the training images' labels are not used (withheld, to
/// measure what the teachers' labels are worth); the teachers label them, a label-free
/// filter keeps those it trusts, and the student trains on the kept images with the
/// teachers' labels (cross-entropy) and their soft outputs (KD) as usual.
///
/// Each image's pseudo-label distribution is p = Σ_t mix_t · softmax(logits_t) (T = 1; one
/// teacher: its softmax), from a frozen, inference-mode forward pass on the un-augmented
/// image; its pseudo-label is argmax p (the smaller class on a tie). Filters:
/// - `none`: every image;
/// - `confidence:τ`: max p ≥ τ (0 < τ ≤ 1) — the teachers' confidence;
/// - `entropy:h`: −Σ p log p ≤ h nats (h ≥ 0; log K is a uniform p) — the whole distribution's certainty;
/// - `agreement`: every teacher's own argmax is the same class (needs several teachers),
///   the "agreement between models" criterion of uDistil-Whisper.
/// None of them looks at a true label; the true labels are read only to report the
/// pseudo-labels' accuracy before and after filtering.
public enum PseudoLabelFilter: Equatable, Sendable, CustomStringConvertible {
  case none
  case confidence(Double)
  case entropy(Double)
  case agreement

  public init(parsing text: String) throws(TrainingError) {
    let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
    switch (parts.first ?? "", parts.count) {
    case ("none", 1): self = .none
    case ("agreement", 1): self = .agreement
    case ("confidence", 2):
      guard let tau = Double(parts[1]), tau > 0, tau <= 1 else {
        throw .invalidSpec("pseudo_labels.filter confidence:τ needs 0 < τ ≤ 1, got '\(text)'")
      }
      self = .confidence(tau)
    case ("entropy", 2):
      guard let h = Double(parts[1]), h >= 0, h.isFinite else {
        throw .invalidSpec("pseudo_labels.filter entropy:h needs h ≥ 0 (nats), got '\(text)'")
      }
      self = .entropy(h)
    default:
      throw .invalidSpec("pseudo_labels.filter must be none, confidence:τ, entropy:h or agreement, got '\(text)'")
    }
  }

  public var description: String {
    switch self {
    case .none: return "none"
    case .confidence(let tau): return "confidence:\(tau)"
    case .entropy(let h): return "entropy:\(h)"
    case .agreement: return "agreement"
    }
  }
}

/// How the teachers' labels turned out (`Trainer.Result.pseudoLabels`).
public struct PseudoLabelReport: Sendable, Codable, Equatable {
  public var filter: String
  /// Training images labelled, and those the filter kept (the student's training set).
  public var images: Int
  public var kept: Int
  /// Fraction of pseudo-labels equal to the withheld true label, over all images and over
  /// the kept ones (nil when none was kept).
  public var accuracy: Double
  public var keptAccuracy: Double?

  enum CodingKeys: String, CodingKey {
    case filter, images, kept, accuracy
    case keptAccuracy = "kept_accuracy"
  }
}

enum PseudoLabels {
  /// The kept images of `data` with their pseudo-labels, and the report.
  static func label(
    _ data: Dataset, teachers: [any Classifier], mix: [Double], filter: PseudoLabelFilter, batch: Int
  ) throws -> (Dataset, PseudoLabelReport) {
    let k = data.classCount
    var kept: [Int] = []
    var labels: [Int] = []
    var correct = 0
    var keptCorrect = 0
    var p = [Double](repeating: 0, count: k)
    for lo in stride(from: 0, to: data.count, by: batch) {
      let (images, truth) = data.batch(lo..<min(lo + batch, data.count))
      let probabilities = try teachers.map { softmax(try $0.classify(images, mode: .inference).logits, classes: k) }
      for i in 0..<truth.count {
        // The mixed distribution in one reused buffer; agreement as "every teacher's top
        // class is the first teacher's".
        for c in 0..<k { p[c] = 0 }
        var firstVote: Int?
        var agree = true
        for (t, q) in probabilities.enumerated() {
          let row = q[(i * k)..<((i + 1) * k)]
          for c in 0..<k { p[c] += mix[t] * row[row.startIndex + c] }
          let vote = argmax(row)
          if let firstVote, vote != firstVote { agree = false }
          firstVote = firstVote ?? vote
        }
        let label = argmax(p[...])
        if label == truth[i] { correct += 1 }
        let keep: Bool
        switch filter {
        case .none: keep = true
        case .confidence(let tau): keep = p[label] >= tau
        case .entropy(let h): keep = -p.reduce(0) { $0 + ($1 > 0 ? $1 * log($1) : 0) } <= h
        case .agreement: keep = agree
        }
        guard keep else { continue }
        kept.append(lo + i)
        labels.append(label)
        if label == truth[i] { keptCorrect += 1 }
      }
    }
    guard !kept.isEmpty else {
      throw TrainingError.invalidSpec("the pseudo-label filter \(filter) kept none of the \(data.count) training images")
    }
    let report = PseudoLabelReport(
      filter: filter.description, images: data.count, kept: kept.count,
      accuracy: Double(correct) / Double(max(data.count, 1)), keptAccuracy: Double(keptCorrect) / Double(kept.count))
    return (Dataset(images: data.batch(kept).images, labels: labels, classCount: k), report)
  }

  /// Row-wise softmax of [N, K] logits, in Double.
  private static func softmax(_ logits: Tensor, classes k: Int) -> [Double] {
    var out = logits.storage.map(Double.init)
    for start in stride(from: 0, to: out.count, by: k) {
      let top = out[start..<(start + k)].max()!
      var sum = 0.0
      for c in start..<(start + k) { out[c] = exp(out[c] - top); sum += out[c] }
      for c in start..<(start + k) { out[c] /= sum }
    }
    return out
  }

  /// The position (from 0) of the first largest value.
  private static func argmax(_ values: ArraySlice<Double>) -> Int {
    var best = values.startIndex
    for i in values.indices where values[i] > values[best] { best = i }
    return best - values.startIndex
  }
}
