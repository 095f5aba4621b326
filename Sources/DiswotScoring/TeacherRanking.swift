import DiswotData
import DiswotModels
import DiswotTensor
import Foundation

/// What a teacher ranking is asked to do: `diswot teachers`' options, and the `spec` of
/// the daemon's `teachers.start` (Docs/protocol.md). One description, checked by one
/// `validate()`, so the command line and the daemon accept exactly the same requests.
public struct TeacherRankingSpec: Codable, Equatable, Sendable {
  /// Target data, `DataSpec`'s text (`cifar10:DIR`, `folder:DIR`, …).
  public var data: String
  /// Weights files (safetensors) of the candidate teachers, in the order given.
  public var candidates: [String]
  public var split: String = "train"
  /// Images to score on (all of the split if it has fewer). 256 by default: two batches,
  /// enough to tell teachers apart (the standard error of an accuracy p is √(p(1−p)/n) ≤
  /// 0.031, that of a mean log-likelihood with per-image spread s is s/16), and cheap
  /// next to what it decides — the ranking must cost well under one short KD run.
  public var limit: Int = 256
  /// Neighbours voting for each image's class.
  public var k: Int = 10
  /// Input height and width; nil: the data's own (224 for folders).
  public var imageSize: Int?
  public var batch: Int = 128
  /// Per-channel normalisation for every candidate, comma-separated as in weights files'
  /// metadata; both or neither (nil: each file's metadata, else the data's usual values).
  public var mean: String?
  public var std: String?
  /// What ranks the candidates (`TeacherRankingMeasure`).
  public var measure: TeacherRankingMeasure = .auto

  public static let limits = 2...100_000
  public static let ks = 1...1000
  public static let imageSizes = 8...4096
  public static let batches = 1...4096

  public init(data: String, candidates: [String]) {
    self.data = data
    self.candidates = candidates
  }

  enum CodingKeys: String, CodingKey {
    case data, candidates, split, limit, k, batch, mean, std, measure
    case imageSize = "image_size"
  }

  /// Absent members take their defaults (the command line's).
  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    data = try c.decode(String.self, forKey: .data)
    candidates = try c.decode([String].self, forKey: .candidates)
    split = try c.decodeIfPresent(String.self, forKey: .split) ?? split
    limit = try c.decodeIfPresent(Int.self, forKey: .limit) ?? limit
    k = try c.decodeIfPresent(Int.self, forKey: .k) ?? k
    imageSize = try c.decodeIfPresent(Int.self, forKey: .imageSize)
    batch = try c.decodeIfPresent(Int.self, forKey: .batch) ?? batch
    mean = try c.decodeIfPresent(String.self, forKey: .mean)
    std = try c.decodeIfPresent(String.self, forKey: .std)
    if let name = try c.decodeIfPresent(String.self, forKey: .measure) {
      guard let parsed = TeacherRankingMeasure(rawValue: name) else {
        throw DecodingError.dataCorruptedError(
          forKey: .measure, in: c,
          debugDescription: "measure must be auto, likelihood or knn, not '\(name)'")
      }
      measure = parsed
    }
  }

  /// Every check that needs no file: what the data and candidate files allow is checked by
  /// `TeacherRanking.init` and `TeacherRanking.checkCandidates()`.
  public func validate() throws(TeacherRankingError) {
    do { _ = try DataSpec(parsing: data) } catch { throw .invalidRequest("data: \(error)") }
    guard !candidates.isEmpty else { throw .invalidRequest("candidates needs at least one weights file") }
    if let twice = candidates.enumerated().first(where: { candidates[..<$0.offset].contains($0.element) }) {
      throw .invalidRequest("candidates names \(twice.element) twice")
    }
    guard Split(rawValue: split) != nil else { throw .invalidRequest("split must be train or test") }
    for (name, value, range) in [("limit", limit, Self.limits), ("k", k, Self.ks), ("batch", batch, Self.batches)] where !range.contains(value) {
      throw .invalidRequest("\(name) must be an integer between \(range.lowerBound) and \(range.upperBound), not \(value)")
    }
    if let imageSize, !Self.imageSizes.contains(imageSize) {
      throw .invalidRequest("image_size must be an integer between \(Self.imageSizes.lowerBound) and \(Self.imageSizes.upperBound), not \(imageSize)")
    }
    guard (mean == nil) == (std == nil) else { throw .invalidRequest("mean and std go together") }
  }
}

/// What orders the candidates of a teacher ranking.
public enum TeacherRankingMeasure: String, Codable, CaseIterable, Sendable {
  /// `likelihood` when every candidate's head has the target's classes, else `knn`: the
  /// head's distribution is what logit distillation transfers, so it is read whenever it
  /// exists for every candidate; one measure for the whole ranking, since the two are on
  /// different scales.
  case auto
  /// Leave-one-out kNN accuracy of the pooled features (cosine): how well the teacher's
  /// representation separates the target's classes. Needs no head, so teachers trained on
  /// other classes rank too (DistillNearest's task similarity).
  case knn
  /// Mean log-probability the teacher's own classifier gives the true label: what
  /// logit distillation transfers is that distribution, and the log-likelihood (a proper
  /// scoring rule) sees both a wrong head and confident mistakes, which features do not.
  /// It cannot see memorisation: a teacher trained on these very images scores ≈ 0, the
  /// best, while its near one-hot outputs teach little beyond the labels (Docs/cli.md).
  /// Needs every candidate's classes to be the target's.
  case likelihood

  /// The name reports give it.
  public var reportName: String {
    switch self {
    case .auto: "auto"
    case .knn: "knn-loo-cosine"
    case .likelihood: "label-log-likelihood"
    }
  }
}

/// Why a ranking cannot run: the request itself (a usage error on the command line) or
/// what its files hold.
public enum TeacherRankingError: Error, Equatable, CustomStringConvertible {
  case invalidRequest(String)
  case data(String)

  public var description: String {
    switch self {
    case .invalidRequest(let m), .data(let m): m
    }
  }
}

/// A teacher ranking ready to run: the spec checked against its data (images to score on,
/// input size, `k` against their number). `diswot teachers` runs it in its process, a
/// daemon worker runs it for `teachers.start`; both call `run`, so a ranking is the same
/// wherever it runs.
///
/// Each candidate runs forward once on `limit` images of the split (spread evenly over it,
/// so a folder sorted by class keeps every class); its pooled penultimate features are
/// scored by `NearestNeighbourTransfer` (leave-one-out kNN accuracy, cosine). No head is
/// used, so a teacher trained on other classes is ranked like any other (its note says so).
public struct TeacherRanking {
  public let spec: TeacherRankingSpec
  public let dataSpec: DataSpec
  public let split: Split
  public let data: DataSplit
  /// The records scored, evenly spaced over the split.
  public let indices: [Int]
  public let height: Int
  public let width: Int

  public init(_ spec: TeacherRankingSpec) throws {
    try spec.validate()
    self.spec = spec
    dataSpec = try DataSpec(parsing: spec.data)
    split = Split(rawValue: spec.split)!
    data = try DataSplit(dataSpec, split)
    let total = min(data.count, spec.limit)
    guard total >= 2 else {
      throw TeacherRankingError.data("\(dataSpec) has \(data.count) \(split.rawValue) images; ranking needs at least 2")
    }
    guard spec.k < total else {
      throw TeacherRankingError.invalidRequest("k \(spec.k) needs more than \(spec.k) images; \(dataSpec) gives \(total)")
    }
    // Evenly spaced, so that a split stored class by class (an image folder) keeps every class.
    let count = data.count
    indices = (0..<total).map { $0 * count / total }
    if let size = spec.imageSize {
      (height, width) = (size, size)
    } else if let stored = data.storedSize {
      (height, width) = (stored[0], stored[1])
    } else {
      (height, width) = (224, 224)
    }
    if let mean = spec.mean, let std = spec.std {
      do { _ = try Normalization(mean: mean, std: std, channels: data.channels) } catch {
        throw TeacherRankingError.invalidRequest("\(error)")
      }
    }
  }

  /// How images become inputs, when not as stored (for a log line).
  public var resizeNote: String? { data.resizeNote(height: height, width: width) }

  /// Reads every candidate's architecture and input channels without running it: what a
  /// daemon checks when the request arrives, so a bad file is an error reply, not a
  /// failed job.
  public func checkCandidates() throws {
    for path in spec.candidates {
      let file = try SafetensorsFile.read(path: path)
      _ = try ModelZoo.architecture(of: file)
      _ = try normalization(for: file, channels: data.channels)
      let classes = try ModelZoo.classCount(in: file)
      if spec.measure == .likelihood, classes != data.classCount { throw Self.needsTheDataClasses(path, classes: classes, dataSpec, data.classCount) }
    }
  }

  /// Where a ranking is: candidate (0-based) of `candidates`, images done of `images`.
  public struct Progress: Sendable {
    public var candidate: Int
    public var candidates: Int
    public var weights: String
    public var done: Int
    public var images: Int
  }

  /// Scores every candidate, best first (equal scores keep the order given). `progress` is
  /// called before each candidate's first batch and after every batch; `isCancelled`
  /// between batches (a cancelled run throws `CancellationError`).
  public func run(
    progress: (Progress) -> Void = { _ in }, isCancelled: () -> Bool = { false }
  ) throws -> TeacherRankingReport {
    let start = Date()
    var results: [TeacherRankingReport.Candidate] = []
    for (i, path) in spec.candidates.enumerated() {
      results.append(try score(path) { done in
        progress(Progress(candidate: i, candidates: spec.candidates.count, weights: path, done: done, images: indices.count))
      } isCancelled: { isCancelled() })
    }
    let measure: TeacherRankingMeasure =
      spec.measure != .auto ? spec.measure : results.allSatisfy({ $0.labelLogLikelihood != nil }) ? .likelihood : .knn
    for i in results.indices {
      let c = results[i]
      (results[i].score, results[i].scoreError) =
        measure == .knn ? (c.knnAccuracy, c.knnError) : (c.labelLogLikelihood!, c.labelLogLikelihoodError!)
    }
    results = results.enumerated().sorted { a, b in
      a.element.score != b.element.score ? a.element.score > b.element.score : a.offset < b.offset
    }.map(\.element)
    for i in results.indices { results[i].rank = i + 1 }
    return TeacherRankingReport(
      data: dataSpec.description, split: split.rawValue, samples: indices.count, k: spec.k, measure: measure.reportName,
      candidates: results, seconds: Date().timeIntervalSince(start))
  }

  /// `spec`'s mean/std, else the file's metadata, else the data's usual statistics.
  private func normalization(for file: SafetensorsFile, channels: Int) throws -> Normalization {
    guard let chosen = try Normalization.chosen(mean: spec.mean, std: spec.std, metadata: file.metadata, data: dataSpec, channels: channels) else {
      throw TeacherRankingError.invalidRequest("no normalisation known for \(dataSpec); give a mean and std")
    }
    return chosen
  }

  /// Why a candidate cannot be ranked by its head's likelihood.
  private static func needsTheDataClasses(_ path: String, classes: Int, _ data: DataSpec, _ dataClasses: Int) -> TeacherRankingError {
    .invalidRequest("\(path) has \(classes) classes, \(data) has \(dataClasses): the likelihood measure needs the data's classes (rank by knn instead)")
  }

  /// One candidate's measurements (unranked: rank 0, score set by `run` once the measure
  /// is known).
  private func score(_ path: String, progress: (Int) -> Void, isCancelled: () -> Bool) throws -> TeacherRankingReport.Candidate {
    let began = Date()
    let total = indices.count
    let file = try SafetensorsFile.read(path: path)
    let model = try ModelZoo.loadAny(file, name: nil)
    let name = try ModelZoo.architecture(of: file).name.description
    guard data.channels == model.inputChannels else {
      throw TeacherRankingError.data(
        "\(path): the model takes \(model.inputChannels)-channel images, \(dataSpec) has \(data.channels)-channel images")
    }
    let normalization = try normalization(for: file, channels: model.inputChannels)
    let sameClasses = model.classCount == data.classCount
    guard sameClasses || spec.measure != .likelihood else { throw Self.needsTheDataClasses(path, classes: model.classCount, dataSpec, data.classCount) }
    var logLikelihood = 0.0, logLikelihoodSquares = 0.0
    var features: [Float] = []
    var labels: [Int] = []
    var headCorrect = 0
    var featureWidth = 0
    progress(0)
    for lo in stride(from: 0, to: total, by: spec.batch) {
      if isCancelled() { throw CancellationError() }
      var loaded = try data.load(Array(indices[lo..<min(lo + spec.batch, total)]), height: height, width: width, skipBadImages: false)
      try loaded.dataset.normalize(normalization)
      let output = try model.classify(loaded.dataset.images, mode: .inference)
      // Finite weights can still overflow (absurd scales): a NaN would sort anywhere.
      guard output.pooled.storage.allSatisfy(\.isFinite), output.logits.storage.allSatisfy(\.isFinite) else {
        throw TeacherRankingError.data("\(path): its outputs on \(dataSpec) are not finite (the weights overflow Float); it cannot be ranked")
      }
      featureWidth = output.pooled.shape[1]
      features += output.pooled.storage
      labels += loaded.dataset.labels
      if sameClasses {
        headCorrect += top1Correct(logits: output.logits, labels: loaded.dataset.labels)
        for value in labelLogLikelihoods(logits: output.logits, labels: loaded.dataset.labels) {
          logLikelihood += value
          logLikelihoodSquares += value * value
        }
      }
      progress(labels.count)
    }
    let (knn, correct) = try NearestNeighbourTransfer.accuracy(
      features: features, rows: labels.count, labels: labels, classCount: data.classCount, k: spec.k)
    let n = Double(labels.count)
    let likelihood = sameClasses ? logLikelihood / n : nil
    // Standard errors of the two means: the sample standard deviation of the per-image
    // values over √n (for the kNN accuracy, a mean of 0/1 values, √(p(1−p)/(n−1))).
    let knnError = (knn * (1 - knn) / (n - 1)).squareRoot()
    let likelihoodError = likelihood.map { mean in
      (max(0, logLikelihoodSquares - n * mean * mean) / (n - 1) / n).squareRoot()
    }
    return TeacherRankingReport.Candidate(
      rank: 0, weights: path, model: name, score: .nan, scoreError: .nan, knnAccuracy: knn, knnError: knnError, correct: correct,
      headAccuracy: sameClasses ? Double(headCorrect) / Double(labels.count) : nil, labelLogLikelihood: likelihood, labelLogLikelihoodError: likelihoodError,
      classes: model.classCount, features: featureWidth, seconds: Date().timeIntervalSince(began),
      note: sameClasses ? nil : "\(model.classCount) classes, the data has \(data.classCount): ranked by its features only")
  }
}

/// A ranking's result: what `diswot teachers --json` prints and a `teachers.start` job's
/// `result` holds (the same members, so a client prints a daemon's ranking as its own).
public struct TeacherRankingReport: Codable, Equatable, Sendable {
  public var data: String
  public var split: String
  public var samples: Int
  public var k: Int
  public var measure: String
  public var candidates: [Candidate]
  public var seconds: Double

  /// One candidate's line of the ranking.
  public struct Candidate: Codable, Equatable, Sendable {
    public var rank: Int
    public var weights: String
    public var model: String
    /// The measure's value (`knnAccuracy` or `labelLogLikelihood`); higher is better.
    public var score: Double
    /// The standard error of `score` over the images scored: two candidates whose scores
    /// differ by less than about twice it are not told apart by this many images.
    public var scoreError: Double
    /// Leave-one-out kNN accuracy of the pooled features, its standard error, and how many
    /// images it got right.
    public var knnAccuracy: Double
    public var knnError: Double
    public var correct: Int
    /// Top-1 of the teacher's own classifier on the same images, when its classes are the target's.
    public var headAccuracy: Double?
    /// Mean natural-log probability its classifier gives the true label (when its classes
    /// are the target's).
    public var labelLogLikelihood: Double?
    public var labelLogLikelihoodError: Double?
    public var classes: Int
    public var features: Int
    public var seconds: Double
    public var note: String?

    enum CodingKeys: String, CodingKey {
      case rank, weights, model, score, correct, classes, features, seconds, note
      case scoreError = "score_se"
      case knnAccuracy = "knn_accuracy"
      case knnError = "knn_se"
      case headAccuracy = "head_accuracy"
      case labelLogLikelihood = "label_log_likelihood"
      case labelLogLikelihoodError = "label_log_likelihood_se"
    }
  }
}

/// log softmax(logits)[label] of each row, in Double (log-sum-exp shifted by the row's
/// largest logit, so no row overflows). logits: [N, K], labels: N classes.
func labelLogLikelihoods(logits: Tensor, labels: [Int]) -> [Double] {
  let k = logits.shape[1]
  return labels.enumerated().map { row, label in
    let base = row * k
    var top = -Double.infinity
    for c in 0..<k { top = max(top, Double(logits.storage[base + c])) }
    var sum = 0.0
    for c in 0..<k { sum += exp(Double(logits.storage[base + c]) - top) }
    return Double(logits.storage[base + label]) - top - log(sum)
  }
}
