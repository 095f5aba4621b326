import DiswotData
import DiswotTensor

/// The one batch every candidate is scored on: images and labels, already normalised.
///
/// Scores are only comparable on the same probe batch, so it is drawn once (seeded) and
/// shared by the teacher and every student.
public struct ProbeBatch: Sendable {
  /// [B, C, H, W]
  public let images: Tensor
  /// B labels in 0..<classCount.
  public let labels: [Int]
  public let classCount: Int
  /// Where it came from, for reports (`gaussian`, `cifar10:DIR train[seed 0]`).
  public let source: String

  public var batchSize: Int { labels.count }

  /// The largest probe batch accepted: DisWOT uses 64; thousands would only cost memory.
  public static let maxBatch = 4096

  /// N(0, 1) images with uniformly random labels, for when no data is at hand.
  /// shape: [C, H, W]
  public static func gaussian(batch: Int, shape: [Int], classCount: Int, seed: UInt64) throws(ScoringError) -> ProbeBatch {
    try check(batch: batch, classCount: classCount)
    var rng = SeededGenerator(seed: seed ^ 0x5052_4F42_4547_4155)  // "PROBEGAU"
    let images = Tensor.normal([batch] + shape, using: &rng)
    let labels = (0..<batch).map { _ in Int(rng.next() % UInt64(classCount)) }
    return ProbeBatch(images: images, labels: labels, classCount: classCount, source: "gaussian")
  }

  /// `batch` images drawn without replacement from the train split of `data` by `seed`,
  /// normalised with `normalization`. Only the drawn records are read: a 64-image batch of
  /// CIFAR-10 reads 197 KB, not the 154 MB split (614 MB once decoded to floats).
  /// `inputShape` ([C, H, W]) and `classCount` are what the networks expect of the data.
  public static func sample(
    from data: DataSpec, normalization: Normalization, batch: Int, seed: UInt64, inputShape: [Int], classCount: Int
  ) throws -> ProbeBatch {
    try check(batch: batch, classCount: classCount)
    let count = try data.count(.train)
    guard batch <= count else {
      throw ScoringError.invalidArgument("a probe batch of \(batch) needs at least that many images; the data has \(count)")
    }
    var drawn = try data.load(.train, records: draw(batch, from: count, seed: seed))
    guard drawn.imageShape == inputShape else {
      throw ScoringError.invalidArgument("the space takes \(inputShape) images, \(data) has \(drawn.imageShape)")
    }
    guard drawn.classCount == classCount else {
      throw ScoringError.invalidArgument("the teacher has \(classCount) classes, \(data) has \(drawn.classCount)")
    }
    try drawn.normalize(normalization)
    return ProbeBatch(
      images: drawn.images, labels: drawn.labels, classCount: classCount,
      source: "\(data.description) [\(batch) images, seed \(seed)]")
  }

  /// The indices of `batch` of `count` records drawn without replacement by `seed`, in draw
  /// order: a partial Fisher–Yates shuffle whose first `batch` slots are the sample, with
  /// the displaced slots kept in a dictionary so memory grows with the batch, not the data.
  static func draw(_ batch: Int, from count: Int, seed: UInt64) -> [Int] {
    var rng = SeededGenerator(seed: seed ^ 0x5052_4F42_4544_4154)  // "PROBEDAT"
    var displaced: [Int: Int] = [:]  // slot → the index it holds, where not its own
    var indices: [Int] = []
    indices.reserveCapacity(batch)
    for i in 0..<batch {
      let j = i + Int(rng.next() % UInt64(count - i))
      let atJ = displaced[j] ?? j
      displaced[j] = displaced[i] ?? i
      indices.append(atJ)
    }
    return indices
  }

  private static func check(batch: Int, classCount: Int) throws(ScoringError) {
    guard (2...maxBatch).contains(batch) else {
      throw .invalidArgument("probe batch size must be between 2 and \(maxBatch), got \(batch)")
    }
    guard classCount >= 2 else { throw .invalidArgument("scoring needs at least 2 classes, got \(classCount)") }
  }
}
