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

  /// `batch` images drawn without replacement from a (normalised) dataset, by `seed`.
  public static func sample(from dataset: Dataset, batch: Int, seed: UInt64, source: String) throws(ScoringError) -> ProbeBatch {
    try check(batch: batch, classCount: dataset.classCount)
    guard batch <= dataset.count else {
      throw .invalidArgument("a probe batch of \(batch) needs at least that many images; the data has \(dataset.count)")
    }
    var rng = SeededGenerator(seed: seed ^ 0x5052_4F42_4544_4154)  // "PROBEDAT"
    var indices = Array(0..<dataset.count)
    for i in 0..<batch {  // partial Fisher–Yates: the first `batch` slots are the sample
      let j = i + Int(rng.next() % UInt64(dataset.count - i))
      indices.swapAt(i, j)
    }
    let (images, labels) = dataset.batch(indices.prefix(batch))
    return ProbeBatch(images: images, labels: labels, classCount: dataset.classCount, source: "\(source) [\(batch) images, seed \(seed)]")
  }

  private static func check(batch: Int, classCount: Int) throws(ScoringError) {
    guard (2...maxBatch).contains(batch) else {
      throw .invalidArgument("probe batch size must be between 2 and \(maxBatch), got \(batch)")
    }
    guard classCount >= 2 else { throw .invalidArgument("scoring needs at least 2 classes, got \(classCount)") }
  }
}
