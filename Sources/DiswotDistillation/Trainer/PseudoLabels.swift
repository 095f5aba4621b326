#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DiswotData
import DiswotModels
import DiswotTensor

/// Pseudo-label distillation: the training images' labels are not used (withheld, to
/// measure what the teachers' labels are worth), or there are none (`TrainingSpec.unlabelled`,
/// a directory of images without classes); the teachers label them, a label-free
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
/// None of them looks at a true label; the true labels, when there are any, are read only
/// to report the pseudo-labels' accuracy before and after filtering.
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
  /// The directory of unlabelled images labelled (`TrainingSpec.unlabelled`, absolute);
  /// nil when the labels of the data's own training split were withheld.
  public var unlabelled: String?
  /// Training images labelled (bad images skipped are not among them), and those the
  /// filter kept (the student's training set).
  public var images: Int
  public var kept: Int
  /// Fraction of pseudo-labels equal to the withheld true label, over all images and over
  /// the kept ones; nil for unlabelled images, which have no true label to compare with.
  public var accuracy: Double?
  public var keptAccuracy: Double?

  enum CodingKeys: String, CodingKey {
    case filter, unlabelled, images, kept, accuracy
    case keptAccuracy = "kept_accuracy"
  }
}

enum PseudoLabels {
  /// The kept images of `data` (loaded whole) with their pseudo-labels, and the report.
  static func label(
    _ data: Dataset, teachers: [any Classifier], mix: [Double], filter: PseudoLabelFilter, batch: Int
  ) throws -> (Dataset, PseudoLabelReport) {
    var tally = Tally(classes: data.classCount, teachers: teachers, mix: mix, filter: filter)
    for lo in stride(from: 0, to: data.count, by: batch) {
      let records = Array(lo..<min(lo + batch, data.count))
      let (images, truth) = data.batch(records)
      try tally.add(images, records: records, truth: truth)
    }
    let (kept, labels, report) = try tally.finish(unlabelled: nil)
    return (Dataset(images: data.batch(kept).images, labels: labels, classCount: data.classCount), report)
  }

  /// The kept images of a streamed image folder with their pseudo-labels (streamed as
  /// `images` is: same size, resize, normalisation), the report, and the bad images left
  /// out while labelling (`images.skipBadImages`; otherwise the first stops labelling with
  /// an error naming it). Each image is read once, un-augmented (resize and centre crop),
  /// in order. `truth`: whether the folder's labels are true labels to measure the
  /// pseudo-labels against (false for `unlabelled`, the directory of unlabelled images).
  static func label(
    _ images: StreamedImages, truth: Bool, unlabelled: String?, teachers: [any Classifier], mix: [Double],
    filter: PseudoLabelFilter, batch: Int
  ) throws -> (StreamedImages, PseudoLabelReport, skipped: [String]) {
    guard let folder = images.split.imageFolder, !images.randomCrops else {
      preconditionFailure("pseudo-labels are read un-augmented from an image folder")
    }
    var tally = Tally(classes: folder.classCount, teachers: teachers, mix: mix, filter: filter)
    let loader = try BatchLoader(source: .streamed(images), batchSize: batch, epoch: 0, seed: 0, shuffle: false)
    defer { loader.cancel() }
    var skipped: [String] = []
    while let next = try loader.nextBatch() {
      skipped += next.skipped
      let bad = Set(next.skipped)
      // The loader keeps the good images of a batch in order: they are these records.
      let records = loader.sampleIndices(ofBatch: next.index).filter { !bad.contains(folder.paths[$0]) }
      guard !records.isEmpty else { continue }
      try tally.add(next.images, records: records, truth: truth ? next.labels : nil)
    }
    let (kept, labels, report) = try tally.finish(unlabelled: unlabelled)
    let keptImages = try StreamedImages(
      split: DataSplit(folder: folder.relabelled(kept, labels: labels), split: images.split.split), size: images.size,
      resize: images.resize, randomCrops: false, normalization: images.normalization, skipBadImages: images.skipBadImages)
    return (keptImages, report, skipped)
  }

  /// The labels and the filter's verdicts, batch by batch.
  private struct Tally {
    let k: Int
    let teachers: [any Classifier]
    let mix: [Double]
    let filter: PseudoLabelFilter
    var images = 0
    var kept: [Int] = []
    var labels: [Int] = []
    /// Hits against the true labels; nil once a batch came without them.
    var correct: Int? = 0
    var keptCorrect = 0
    /// The mixed distribution of one image, one buffer reused for every image.
    var p: [Double]

    init(classes: Int, teachers: [any Classifier], mix: [Double], filter: PseudoLabelFilter) {
      (k, self.teachers, self.mix, self.filter, p) = (classes, teachers, mix, filter, [Double](repeating: 0, count: classes))
    }

    /// Labels the normalised `batch` of images, which are `records` (the positions
    /// reported as kept), with their true labels when there are any.
    mutating func add(_ batch: Tensor, records: [Int], truth: [Int]?) throws {
      let probabilities = try teachers.map { teacher in
        let logits = try teacher.classify(batch, mode: .inference).logits
        return LossMath.softmaxRows(LossMath.doubles(logits), rows: logits.shape[0], columns: k).probabilities
      }
      if truth == nil { correct = nil }
      for i in records.indices {
        // The mixed distribution; agreement as "every teacher's top class is the first teacher's".
        for c in 0..<k { p[c] = 0 }
        var firstVote: Int?
        var agree = true
        for (t, q) in probabilities.enumerated() {
          let row = q[(i * k)..<((i + 1) * k)]
          for c in 0..<k { p[c] += mix[t] * row[row.startIndex + c] }
          let vote = PseudoLabels.argmax(row)
          if let firstVote, vote != firstVote { agree = false }
          firstVote = firstVote ?? vote
        }
        let label = PseudoLabels.argmax(p[...])
        let right = truth.map { $0[i] == label } ?? false
        if right { correct? += 1 }
        images += 1
        let keep: Bool
        switch filter {
        case .none: keep = true
        case .confidence(let tau): keep = p[label] >= tau
        case .entropy(let h): keep = -p.reduce(0) { $0 + ($1 > 0 ? $1 * log($1) : 0) } <= h
        case .agreement: keep = agree
        }
        guard keep else { continue }
        kept.append(records[i])
        labels.append(label)
        if right { keptCorrect += 1 }
      }
    }

    /// The kept records, their labels and the report; keeping none is an error.
    func finish(unlabelled: String?) throws -> (kept: [Int], labels: [Int], report: PseudoLabelReport) {
      guard !kept.isEmpty else {
        throw TrainingError.invalidSpec("the pseudo-label filter \(filter) kept none of the \(images) training images")
      }
      let report = PseudoLabelReport(
        filter: filter.description, unlabelled: unlabelled, images: images, kept: kept.count,
        accuracy: correct.map { Double($0) / Double(max(images, 1)) },
        keptAccuracy: correct == nil ? nil : Double(keptCorrect) / Double(kept.count))
      return (kept, labels, report)
    }
  }

  /// The position (from 0) of the first largest value.
  private static func argmax(_ values: ArraySlice<Double>) -> Int {
    var best = values.startIndex
    for i in values.indices where values[i] > values[best] { best = i }
    return best - values.startIndex
  }
}
