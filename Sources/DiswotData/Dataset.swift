import DiswotTensor

/// A labelled image set held in memory, ready to be cut into batches.
///
/// The images are one [N, C, H, W] tensor so that a batch is a contiguous copy and the
/// whole set can be normalised in one pass. Readers store pixels scaled to [0, 1];
/// `normalize(_:)` then applies per-channel mean/std, exactly as PyTorch's
/// `ToTensor` + `Normalize` do, so that pretrained teachers see the inputs they were
/// trained on.
public struct Dataset: Sendable, Equatable {
  /// [N, C, H, W] pixels.
  public private(set) var images: Tensor
  /// One class index in `0..<classCount` per image.
  public let labels: [Int]
  /// Number of classes the labels range over.
  public let classCount: Int

  /// `images` must be rank 4 with one image per label, and every label a valid class.
  public init(images: Tensor, labels: [Int], classCount: Int) {
    precondition(images.rank == 4, "images must be [N, C, H, W], got \(images.shape)")
    precondition(images.n == labels.count, "\(images.n) images but \(labels.count) labels")
    precondition(
      labels.allSatisfy { (0..<classCount).contains($0) }, "labels outside 0..<\(classCount)")
    self.images = images
    self.labels = labels
    self.classCount = classCount
  }

  /// Number of images.
  public var count: Int { labels.count }
  /// [C, H, W] of one image.
  public var imageShape: [Int] { Array(images.shape.dropFirst()) }

  /// The images and labels at `indices` (a range for sequential batches, any index list
  /// for shuffled ones), in that order.
  public func batch(_ indices: some Collection<Int>) -> (images: Tensor, labels: [Int]) {
    let imageSize = imageShape.reduce(1, *)
    var batch = Tensor(zeros: [indices.count] + imageShape)
    batch.withUnsafeMutableBufferPointer { destination in
      images.withUnsafeBufferPointer { source in
        for (slot, index) in indices.enumerated() {
          precondition((0..<count).contains(index), "index \(index) outside 0..<\(count)")
          (destination.baseAddress! + slot * imageSize)
            .update(from: source.baseAddress! + index * imageSize, count: imageSize)
        }
      }
    }
    return (batch, indices.map { labels[$0] })
  }

  /// The first `maxCount` samples (all of them when there are fewer).
  public func prefix(_ maxCount: Int) -> Dataset {
    let (images, labels) = batch(0..<min(max(maxCount, 0), count))
    return Dataset(images: images, labels: labels, classCount: classCount)
  }

  /// Normalises every image in place with per-channel `normalization`.
  public mutating func normalize(_ normalization: Normalization) throws(DatasetError) {
    try normalization.apply(to: &images)
  }
}
