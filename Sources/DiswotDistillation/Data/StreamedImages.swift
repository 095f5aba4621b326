import DiswotData
import DiswotTensor

/// A split whose images are decoded batch by batch rather than held in memory: how
/// `BatchLoader` reads an image folder, whose decoded images at 224×224 (600 KB each as
/// floats) would not fit whole.
///
/// Each batch is read with `DataSplit.load` (decoded on all cores), prepared at
/// `size`×`size` and normalised. With `randomCrops`, image p of an epoch's order gets
/// torchvision's `RandomResizedCrop(size)` + `RandomHorizontalFlip()` from a generator
/// seeded by draw p of the augmentation stream of (seed, epoch) (`seeds(count:seed:epoch:)`),
/// so a batch is the same bits whichever thread decodes it and whenever it is rebuilt
/// (resuming mid-epoch); without, `Resize(resize)` + `CenterCrop(size)` as for evaluation.
public struct StreamedImages: Sendable {
  public let split: DataSplit
  /// Images read: the split's first `count` (all of them unless a limit was given).
  public let count: Int
  /// Height and width of the prepared images.
  public let size: Int
  /// Shorter side before the centre crop (nil: `ImageTransforms.resizeSize(forCrop:)`).
  public let resize: Int?
  public let randomCrops: Bool
  public let normalization: Normalization
  /// Leave undecodable images out of their batch (named in `BatchLoader.Batch.skipped`);
  /// otherwise the first one stops the loader with an error naming it.
  public let skipBadImages: Bool

  /// `count` nil reads the whole split.
  public init(
    split: DataSplit, count: Int? = nil, size: Int, resize: Int? = nil, randomCrops: Bool, normalization: Normalization,
    skipBadImages: Bool
  ) throws(DatasetError) {
    try DataSplit.check(resize: resize, size: size, spec: split.spec)
    guard normalization.channels == split.channels else {
      throw .invalidNormalization("\(normalization.channels)-channel mean/std for \(split.channels)-channel images")
    }
    self.split = split
    self.count = min(count ?? split.count, split.count)
    self.size = size
    self.resize = resize
    self.randomCrops = randomCrops
    self.normalization = normalization
    self.skipBadImages = skipBadImages
  }

  /// [C, H, W] of a prepared image.
  public var imageShape: [Int] { [split.channels, size, size] }

  /// The per-image crop seeds of an epoch's `count` positions: consecutive draws of the
  /// augmentation stream of (seed, epoch), as `Augmentation.draws` uses it for CIFAR.
  static func seeds(count: Int, seed: UInt64, epoch: Int) -> [UInt64] {
    var rng = EpochRandom.generator(seed: seed, epoch: epoch, stream: .augmentation)
    return (0..<count).map { _ in rng.next() }
  }

  /// The normalised images at `records` (crop seeds `seeds`, one per record, with
  /// `randomCrops`) and the paths of the bad images left out, written into `recycled`'s
  /// storage when it fits.
  func load(
    _ records: [Int], seeds: [UInt64]?, recycling recycled: inout Tensor
  ) throws(DatasetError) -> (dataset: Dataset, skipped: [String]) {
    var loaded = try split.load(
      records, height: size, width: size, training: randomCrops ? seeds : nil, resize: resize, skipBadImages: skipBadImages,
      recycling: &recycled)
    try loaded.dataset.normalize(normalization)
    return loaded
  }
}
