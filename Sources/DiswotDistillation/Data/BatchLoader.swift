import DiswotData
import DiswotTensor
import Dispatch
import Foundation

/// One epoch of a dataset in mini-batches: shuffled by (seed, epoch), augmented, and
/// prepared ahead on a background queue while the caller computes.
///
/// Every batch is a pure function of (source, seed, epoch, batch index, batch size,
/// shuffle, drop-last, augmentation): the sample order is a Fisher–Yates permutation from
/// the shuffle stream of (seed, epoch) and sample i of that order gets augmentation draw
/// i (or, for streamed images, crop seed i) from the augmentation stream, both computed up
/// front. Prefetching or not, starting at batch 0 or at batch k (`startBatch`, to resume a
/// mid-epoch checkpoint), the batches are the same bits.
///
/// Sources: a `Dataset` in memory (CIFAR, MNIST), prepared one batch ahead; or
/// `StreamedImages` (image folders), decoded `streamedDepth` batches ahead, so the decoding
/// of the next batches overlaps the caller's compute while memory holds only those
/// batches, never the split.
///
/// Images are written into `depth + 1` buffers used in turn: while the caller holds batch
/// k (buffer k mod (depth + 1)), batches k + 1 … k + depth are written into the others. A
/// returned batch shares its storage with the loader's buffer (copy-on-write keeps this
/// safe: if the caller still holds or mutates a batch when its buffer is reused, Swift
/// copies first), so a loop that drops each batch before asking for the next allocates
/// nothing per batch from memory.
///
/// Thread safety (why `@unchecked Sendable` is sound): the immutable inputs (source,
/// order, draws, seeds) are `let`s of Sendable value types; `nextBatch()` runs entirely
/// under `consumerLock`, so the iteration state (`nextIndex`, `pending`) has one user at a
/// time; a buffer is written by the background queue only between the dispatch of its job
/// and that job's semaphore signal, and `nextBatch()` touches it only after waiting on that
/// semaphore, so every buffer has one user at a time and the semaphore orders their
/// accesses; `cancelled` is guarded by `stateLock`.
public final class BatchLoader: Sequence, IteratorProtocol, @unchecked Sendable {
  /// A mini-batch.
  public struct Batch: Sendable {
    /// Position of the batch in its epoch, from 0.
    public let index: Int
    /// [B, C, H, W] images, augmented.
    public let images: Tensor
    /// B labels, in the images' order.
    public let labels: [Int]
    /// Images of the batch left out as undecodable (streamed images with
    /// `skipBadImages`), by path; `images` holds the others.
    public let skipped: [String]
  }

  /// Where the images come from.
  public enum Source: Sendable {
    /// Held in memory, augmented with `Augmentation` draws.
    case memory(Dataset, Augmentation)
    /// Decoded per batch.
    case streamed(StreamedImages)
  }

  /// Batches a streamed source prepares ahead of the caller: enough to cover a slow
  /// batch, few enough that 224×224 batches stay a few tens of MB each.
  public static let streamedDepth = 3

  public let batchSize: Int
  public let epoch: Int
  public let seed: UInt64
  /// Batches in this epoch (from batch 0, whatever `startBatch` was).
  public let batchCount: Int
  /// Samples in the epoch (the source's images).
  public let sampleCount: Int

  private let source: Source
  /// Dataset index of each position of the epoch.
  private let order: [Int]
  /// Augmentation draw of each position of the epoch (memory sources).
  private let draws: [Augmentation.Draw]
  /// Crop seed of each position of the epoch (streamed sources with random crops).
  private let seeds: [UInt64]?
  /// Batches prepared ahead (0: none, each `nextBatch()` prepares its own).
  private let depth: Int
  private let queue = DispatchQueue(label: "diswot.batch-loader", qos: .userInitiated)

  /// Guards a whole `nextBatch()` call and with it `nextIndex` and `pending`.
  private let consumerLock = NSLock()
  private var nextIndex: Int
  /// The batches being prepared in the background, in batch order.
  private var pending: [(index: Int, buffer: Buffer, ready: DispatchSemaphore)] = []
  private let buffers: [Buffer]
  /// Why a streamed batch could not be read; `next()` ends the sequence there. Set and
  /// read by the consuming thread only (outside `consumerLock`, which `next()` takes
  /// through `nextBatch()`).
  public private(set) var failure: (any Error)?

  private let stateLock = NSLock()
  private var cancelled = false

  /// A reusable batch buffer; see the type's note on thread safety.
  private final class Buffer: @unchecked Sendable {
    var images = Tensor(zeros: [0])
    var labels: [Int] = []
    var skipped: [String] = []
    var error: (any Error)?
  }

  /// Batches of an in-memory `dataset`; see `init(source:…)`.
  /// - augmentation: applied to every image (`Augmentation.none` for evaluation).
  public convenience init(
    dataset: Dataset, batchSize: Int, epoch: Int, seed: UInt64, shuffle: Bool = true,
    dropLast: Bool = false, augmentation: Augmentation = .none, startBatch: Int = 0,
    prefetch: Bool = true
  ) throws(BatchLoaderError) {
    try self.init(
      source: .memory(dataset, augmentation), batchSize: batchSize, epoch: epoch, seed: seed, shuffle: shuffle,
      dropLast: dropLast, startBatch: startBatch, prefetch: prefetch)
  }

  /// Batches of epoch `epoch` (from 0) starting at batch `startBatch`.
  /// - shuffle: permute by (seed, epoch); otherwise dataset order (evaluation).
  /// - dropLast: leave out a final batch smaller than `batchSize` (PyTorch's `drop_last`,
  ///   default false there and here).
  /// - prefetch: prepare the next batch (a streamed source: the next `streamedDepth`) on a
  ///   background queue; off, each `nextBatch()` prepares its batch itself. The batches are
  ///   identical either way.
  public init(
    source: Source, batchSize: Int, epoch: Int, seed: UInt64, shuffle: Bool = true,
    dropLast: Bool = false, startBatch: Int = 0, prefetch: Bool = true
  ) throws(BatchLoaderError) {
    guard batchSize >= 1 else { throw .invalidSetting("batch size \(batchSize) must be at least 1") }
    guard epoch >= 0 else { throw .invalidSetting("epoch \(epoch) must be at least 0") }
    let count: Int
    switch source {
    case .memory(let dataset, let augmentation):
      do {
        try augmentation.validate(channels: dataset.images.c)
      } catch {
        throw .invalidSetting(error.description)
      }
      count = dataset.count
      draws = augmentation.draws(count: count, seed: seed, epoch: epoch)
      seeds = nil
      depth = prefetch ? 1 : 0
    case .streamed(let images):
      count = images.count
      draws = []
      seeds = images.randomCrops ? StreamedImages.seeds(count: count, seed: seed, epoch: epoch) : nil
      depth = prefetch ? Self.streamedDepth : 0
    }
    let batchCount = Self.batchCount(samples: count, batchSize: batchSize, dropLast: dropLast)
    guard (0...batchCount).contains(startBatch) else {
      throw .invalidSetting("start batch \(startBatch) is outside 0...\(batchCount) (batches in the epoch)")
    }
    self.source = source
    self.batchSize = batchSize
    self.epoch = epoch
    self.seed = seed
    self.batchCount = batchCount
    self.sampleCount = count
    self.order = shuffle ? Self.permutation(count: count, seed: seed, epoch: epoch) : Array(0..<count)
    self.nextIndex = startBatch
    self.buffers = (0...depth).map { _ in Buffer() }
  }

  /// Batches in an epoch of `samples` samples.
  public static func batchCount(samples: Int, batchSize: Int, dropLast: Bool) -> Int {
    dropLast ? samples / batchSize : (samples + batchSize - 1) / batchSize
  }

  /// The epoch's sample order: a Fisher–Yates shuffle of 0..<count driven by the shuffle
  /// stream of (seed, epoch).
  public static func permutation(count: Int, seed: UInt64, epoch: Int) -> [Int] {
    var rng = EpochRandom.generator(seed: seed, epoch: epoch, stream: .shuffle)
    var order = Array(0..<count)
    order.withUnsafeMutableBufferPointer { p in
      var i = count - 1
      while i > 0 {
        let j = rng.uniformIndex(below: i + 1)
        p.swapAt(i, j)
        i -= 1
      }
    }
    return order
  }

  /// Dataset indices of batch `index`, in order.
  public func sampleIndices(ofBatch index: Int) -> ArraySlice<Int> {
    precondition((0..<batchCount).contains(index), "batch \(index) outside 0..<\(batchCount)")
    return order[index * batchSize..<Swift.min(order.count, (index + 1) * batchSize)]
  }

  /// Stops the epoch: `next()` returns nil from now on, and a batch being prepared stops
  /// early. Safe from any thread.
  public func cancel() {
    stateLock.lock()
    cancelled = true
    stateLock.unlock()
  }

  public var isCancelled: Bool {
    stateLock.lock()
    defer { stateLock.unlock() }
    return cancelled
  }

  /// The next batch, or nil after the last one or once cancelled. A streamed source's
  /// error (a bad image without `skipBadImages`, an unreadable file) is thrown.
  public func nextBatch() throws -> Batch? {
    consumerLock.lock()
    defer { consumerLock.unlock() }
    let index = nextIndex
    guard !isCancelled, index < batchCount else {
      finishPending()
      return nil
    }
    let buffer: Buffer
    if let job = pending.first, job.index == index {
      job.ready.wait()
      pending.removeFirst()
      buffer = job.buffer
    } else {
      finishPending()
      buffer = buffers[index % buffers.count]
      fill(buffer, batch: index)
    }
    // A job cancelled midway leaves a partial batch: never hand it out.
    guard !isCancelled else { return nil }
    if let error = buffer.error {
      finishPending()
      throw error
    }
    let batch = Batch(index: index, images: buffer.images, labels: buffer.labels, skipped: buffer.skipped)
    nextIndex = index + 1
    // Keep `depth` batches in preparation; batch k's buffer is only reused by batch
    // k + depth + 1, queued once the caller has moved on to batch k + 1.
    var following = (pending.last?.index ?? index) + 1
    while pending.count < depth && following < batchCount {
      let (batchIndex, other) = (following, buffers[following % buffers.count])
      let ready = DispatchSemaphore(value: 0)
      pending.append((batchIndex, other, ready))
      queue.async { [self] in
        fill(other, batch: batchIndex)
        ready.signal()
      }
      following += 1
    }
    return batch
  }

  /// The next batch; for a sequence of a streamed source, whose errors this cannot
  /// throw, the sequence ends at a failing batch and `failure` says why (the trainer uses
  /// `nextBatch()`).
  public func next() -> Batch? {
    do { return try nextBatch() } catch {
      failure = error
      return nil
    }
  }

  /// Waits for the background jobs, if any, and forgets them.
  private func finishPending() {
    for job in pending { job.ready.wait() }
    pending.removeAll()
  }

  /// Writes batch `index` into `buffer`.
  private func fill(_ buffer: Buffer, batch index: Int) {
    buffer.error = nil
    buffer.skipped = []
    switch source {
    case .memory(let dataset, let augmentation):
      fill(buffer, batch: index, from: dataset, augmentation: augmentation)
    case .streamed(let images):
      guard !isCancelled else { return }
      let indices = sampleIndices(ofBatch: index)
      do {
        // The buffer's last batch has been handed on and dropped (see the type's note):
        // its storage takes this one.
        let loaded = try images.load(Array(indices), seeds: seeds.map { Array($0[indices.indices]) }, recycling: &buffer.images)
        (buffer.images, buffer.labels, buffer.skipped) = (loaded.dataset.images, loaded.dataset.labels, loaded.skipped)
      } catch {
        buffer.error = error
      }
    }
  }

  /// Gathers batch `index`'s samples from memory and augments them.
  private func fill(_ buffer: Buffer, batch index: Int, from dataset: Dataset, augmentation: Augmentation) {
    let indices = sampleIndices(ofBatch: index)
    let start = indices.startIndex
    let imageShape = dataset.imageShape
    let (c, h, w) = (imageShape[0], imageShape[1], imageShape[2])
    let size = c * h * w
    let shape = [indices.count] + imageShape
    if buffer.images.shape != shape { buffer.images = Tensor(zeros: shape) }
    buffer.labels.removeAll(keepingCapacity: true)
    for i in indices { buffer.labels.append(dataset.labels[i]) }
    dataset.images.withUnsafeBufferPointer { source in
      buffer.images.withUnsafeMutableBufferPointer { destination in
        for (slot, sample) in indices.enumerated() {
          if slot % 16 == 0 && isCancelled { return }
          let from = source.baseAddress! + sample * size
          let to = destination.baseAddress! + slot * size
          if augmentation.isIdentity {
            to.update(from: from, count: size)
          } else {
            augmentation.apply(
              draws[start + slot], source: from, destination: to, channels: c, height: h, width: w)
          }
        }
      }
    }
  }
}

/// Why a batch loader could not be made.
public enum BatchLoaderError: Error, Equatable, CustomStringConvertible {
  case invalidSetting(String)

  public var description: String {
    switch self {
    case .invalidSetting(let m): return "invalid batch loader setting: \(m)"
    }
  }
}
