import DiswotData
import DiswotTensor
import Dispatch
import Foundation

/// One epoch of a dataset in mini-batches: shuffled by (seed, epoch), augmented, and
/// prepared one batch ahead on a background queue while the caller computes.
///
/// Every batch is a pure function of (dataset, seed, epoch, batch index, batch size,
/// shuffle, drop-last, augmentation): the sample order is a Fisher–Yates permutation from
/// the shuffle stream of (seed, epoch) and sample i of that order gets augmentation draw
/// i from the augmentation stream, both computed up front. Prefetching or not, starting
/// at batch 0 or at batch k (`startBatch`, to resume a mid-epoch checkpoint), the batches
/// are the same bits.
///
/// Images are written into two buffers used alternately: while the caller holds batch k
/// (buffer k mod 2), batch k + 1 is written into the other one. A returned batch shares
/// its storage with the loader's buffer (copy-on-write keeps this safe: if the caller
/// still holds or mutates a batch when its buffer is reused, Swift copies first), so a
/// loop that drops each batch before asking for the next allocates nothing per batch.
///
/// Thread safety (why `@unchecked Sendable` is sound): the immutable inputs (dataset,
/// order, draws) are `let`s of Sendable value types; `next()` runs entirely under
/// `consumerLock`, so the iteration state (`nextIndex`, `pending`) has one user at a
/// time; a buffer is written by the background queue only between the dispatch of its
/// job and that job's semaphore signal, and `next()` touches it only after waiting on
/// that semaphore, so every buffer has one user at a time and the semaphore orders
/// their accesses; `cancelled` is guarded by `stateLock`.
public final class BatchLoader: Sequence, IteratorProtocol, @unchecked Sendable {
  /// A mini-batch.
  public struct Batch: Sendable {
    /// Position of the batch in its epoch, from 0.
    public let index: Int
    /// [B, C, H, W] images, augmented.
    public let images: Tensor
    /// B labels, in the images' order.
    public let labels: [Int]
  }

  public let batchSize: Int
  public let epoch: Int
  public let seed: UInt64
  /// Batches in this epoch (from batch 0, whatever `startBatch` was).
  public let batchCount: Int
  public let augmentation: Augmentation

  private let dataset: Dataset
  /// Dataset index of each position of the epoch.
  private let order: [Int]
  /// Augmentation draw of each position of the epoch.
  private let draws: [Augmentation.Draw]
  private let prefetch: Bool
  private let queue = DispatchQueue(label: "diswot.batch-loader", qos: .userInitiated)

  /// Guards a whole `next()` call and with it `nextIndex` and `pending`.
  private let consumerLock = NSLock()
  private var nextIndex: Int
  /// The batch being prepared in the background, if any.
  private var pending: (index: Int, buffer: Buffer, ready: DispatchSemaphore)?
  private let buffers: [Buffer]

  private let stateLock = NSLock()
  private var cancelled = false

  /// A reusable batch buffer; see the type's note on thread safety.
  private final class Buffer: @unchecked Sendable {
    var images = Tensor(zeros: [0])
    var labels: [Int] = []
  }

  /// Batches of epoch `epoch` (from 0) starting at batch `startBatch`.
  /// - shuffle: permute by (seed, epoch); otherwise dataset order (evaluation).
  /// - dropLast: leave out a final batch smaller than `batchSize` (PyTorch's `drop_last`,
  ///   default false there and here).
  /// - augmentation: applied to every image (`Augmentation.none` for evaluation).
  /// - prefetch: prepare the next batch on a background queue; off, each `next()`
  ///   prepares its batch itself. The batches are identical either way.
  public init(
    dataset: Dataset, batchSize: Int, epoch: Int, seed: UInt64, shuffle: Bool = true,
    dropLast: Bool = false, augmentation: Augmentation = .none, startBatch: Int = 0,
    prefetch: Bool = true
  ) throws(BatchLoaderError) {
    guard batchSize >= 1 else { throw .invalidSetting("batch size \(batchSize) must be at least 1") }
    guard epoch >= 0 else { throw .invalidSetting("epoch \(epoch) must be at least 0") }
    do {
      try augmentation.validate(channels: dataset.images.c)
    } catch {
      throw .invalidSetting(error.description)
    }
    let batchCount = Self.batchCount(samples: dataset.count, batchSize: batchSize, dropLast: dropLast)
    guard (0...batchCount).contains(startBatch) else {
      throw .invalidSetting("start batch \(startBatch) is outside 0...\(batchCount) (batches in the epoch)")
    }
    self.dataset = dataset
    self.batchSize = batchSize
    self.epoch = epoch
    self.seed = seed
    self.batchCount = batchCount
    self.augmentation = augmentation
    self.prefetch = prefetch
    self.order =
      shuffle ? Self.permutation(count: dataset.count, seed: seed, epoch: epoch) : Array(0..<dataset.count)
    self.draws = augmentation.draws(count: dataset.count, seed: seed, epoch: epoch)
    self.nextIndex = startBatch
    self.buffers = [Buffer(), Buffer()]
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

  /// The next batch, or nil after the last one or once cancelled.
  public func next() -> Batch? {
    consumerLock.lock()
    defer { consumerLock.unlock() }
    let index = nextIndex
    guard !isCancelled, index < batchCount else {
      finishPending()
      return nil
    }
    let buffer: Buffer
    if let job = pending, job.index == index {
      job.ready.wait()
      pending = nil
      buffer = job.buffer
    } else {
      finishPending()
      buffer = buffers[index % 2]
      fill(buffer, batch: index)
    }
    // A job cancelled midway leaves a partial batch: never hand it out.
    guard !isCancelled else { return nil }
    let batch = Batch(index: index, images: buffer.images, labels: buffer.labels)
    nextIndex = index + 1
    if prefetch && nextIndex < batchCount {
      let (following, other) = (nextIndex, buffers[nextIndex % 2])
      let ready = DispatchSemaphore(value: 0)
      pending = (following, other, ready)
      queue.async { [self] in
        fill(other, batch: following)
        ready.signal()
      }
    }
    return batch
  }

  /// Waits for a background job, if any, and forgets it.
  private func finishPending() {
    if let job = pending {
      job.ready.wait()
      pending = nil
    }
  }

  /// Writes batch `index` into `buffer`: gathers its samples and augments them.
  private func fill(_ buffer: Buffer, batch index: Int) {
    let indices = sampleIndices(ofBatch: index)
    let start = indices.startIndex
    let imageShape = dataset.imageShape
    let (c, h, w) = (imageShape[0], imageShape[1], imageShape[2])
    let size = c * h * w
    let shape = [indices.count] + imageShape
    if buffer.images.shape != shape { buffer.images = Tensor(zeros: shape) }
    buffer.labels.removeAll(keepingCapacity: true)
    for i in indices { buffer.labels.append(dataset.labels[i]) }
    let augmentation = augmentation
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
