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
  /// Images to score on (all of the split if it has fewer).
  public var limit: Int = 1000
  /// Neighbours voting for each image's class.
  public var k: Int = 10
  /// Input height and width; nil: the data's own (224 for folders).
  public var imageSize: Int?
  public var batch: Int = 128
  /// Per-channel normalisation for every candidate, comma-separated as in weights files'
  /// metadata; both or neither (nil: each file's metadata, else the data's usual values).
  public var mean: String?
  public var std: String?

  public static let limits = 2...100_000
  public static let ks = 1...1000
  public static let imageSizes = 8...4096
  public static let batches = 1...4096

  public init(data: String, candidates: [String]) {
    self.data = data
    self.candidates = candidates
  }

  enum CodingKeys: String, CodingKey {
    case data, candidates, split, limit, k, batch, mean, std
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

  /// The measure's name in reports.
  public static let measure = "knn-loo-cosine"

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
    results = results.enumerated().sorted { a, b in
      a.element.score != b.element.score ? a.element.score > b.element.score : a.offset < b.offset
    }.map(\.element)
    for i in results.indices { results[i].rank = i + 1 }
    return TeacherRankingReport(
      data: dataSpec.description, split: split.rawValue, samples: indices.count, k: spec.k, measure: Self.measure,
      candidates: results, seconds: Date().timeIntervalSince(start))
  }

  /// `spec`'s mean/std, else the file's metadata, else the data's usual statistics.
  private func normalization(for file: SafetensorsFile, channels: Int) throws -> Normalization {
    if let mean = spec.mean, let std = spec.std { return try Normalization(mean: mean, std: std, channels: channels) }
    if let mean = file.metadata["mean"], let std = file.metadata["std"] {
      return try Normalization(mean: mean, std: std, channels: channels)
    }
    guard let fallback = dataSpec.defaultNormalization else {
      throw TeacherRankingError.invalidRequest("no normalisation known for \(dataSpec); give a mean and std")
    }
    return fallback
  }

  /// One candidate's score (unranked: rank 0).
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
      featureWidth = output.pooled.shape[1]
      features += output.pooled.storage
      labels += loaded.dataset.labels
      if sameClasses { headCorrect += top1Correct(logits: output.logits, labels: loaded.dataset.labels) }
      progress(labels.count)
    }
    let (score, correct) = try NearestNeighbourTransfer.accuracy(
      features: features, rows: labels.count, labels: labels, classCount: data.classCount, k: spec.k)
    return TeacherRankingReport.Candidate(
      rank: 0, weights: path, model: name, score: score, correct: correct,
      headAccuracy: sameClasses ? Double(headCorrect) / Double(labels.count) : nil,
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
    public var score: Double
    public var correct: Int
    /// Top-1 of the teacher's own classifier on the same images, when its classes are the target's.
    public var headAccuracy: Double?
    public var classes: Int
    public var features: Int
    public var seconds: Double
    public var note: String?

    enum CodingKeys: String, CodingKey {
      case rank, weights, model, score, correct, classes, features, seconds, note
      case headAccuracy = "head_accuracy"
    }
  }
}
