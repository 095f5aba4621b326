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
  /// `inputShape` ([C, H, W]) and `classCount` are what the networks expect of the data;
  /// images of another height and width are resized to it (`DataSplit`), and `source` says so.
  /// With `skipBadImages` a few more images are drawn (the draw's first `batch` indices do
  /// not depend on its length), bad ones are left out and counted in `source`, and the
  /// first `batch` good ones are kept; without it the first bad image is an error naming it.
  /// `resize` is an image folder's shorter side before the centre crop (nil: the 8/7 rule).
  public static func sample(
    from data: DataSpec, normalization: Normalization, batch: Int, seed: UInt64, inputShape: [Int], classCount: Int,
    resize: Int? = nil, skipBadImages: Bool = false
  ) throws -> ProbeBatch {
    try check(batch: batch, classCount: classCount)
    let split = try DataSplit(data, .train)
    let count = split.count
    guard batch <= count else {
      throw ScoringError.invalidArgument("a probe batch of \(batch) needs at least that many images; the data has \(count)")
    }
    guard split.channels == inputShape[0] else {
      throw ScoringError.invalidArgument("the space takes \(inputShape) images, \(data) has \(split.channels)-channel images")
    }
    guard split.classCount == classCount else {
      throw ScoringError.invalidArgument("the teacher has \(classCount) classes, \(data) has \(split.classCount)")
    }
    let (height, width) = (inputShape[1], inputShape[2])
    // With skipping, a few more records are read so that bad ones can be replaced.
    let drawCount = skipBadImages ? min(count, batch + batch / 8 + 8) : batch
    var drawn = try split.load(
      draw(drawCount, from: count, seed: seed), height: height, width: width, resize: resize, skipBadImages: skipBadImages)
    let skipped = drawn.skipped.count
    guard drawn.dataset.count >= batch else {
      throw ScoringError.invalidArgument("\(data): \(skipped) of \(drawCount) images drawn are bad, too many for a probe batch of \(batch)")
    }
    drawn.dataset = drawn.dataset.prefix(batch)
    try drawn.dataset.normalize(normalization)
    var notes = [String]()
    if let note = split.resizeNote(height: height, width: width, resize: resize) { notes.append(note) }
    if skipped > 0 { notes.append("\(skipped) bad image\(skipped == 1 ? "" : "s") skipped of \(drawCount) read") }
    return ProbeBatch(
      images: drawn.dataset.images, labels: drawn.dataset.labels, classCount: classCount,
      source: "\(data.description) [\(batch) images, seed \(seed)\(notes.map { "; " + $0 }.joined())]")
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
