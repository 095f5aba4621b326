import DiswotData
import DiswotDistillation
import DiswotTensor
import XCTest

final class BatchLoaderTests: XCTestCase {
  /// 23 one-channel 4×4 images; every pixel of image i is i, so a batch names its samples.
  private let dataset: Dataset = {
    let n = 23
    let images = try! Tensor(shape: [n, 1, 4, 4], storage: (0..<n).flatMap { [Float](repeating: Float($0), count: 16) })
    return Dataset(images: images, labels: (0..<n).map { $0 % 5 }, classCount: 5)
  }()

  /// 23 random three-channel 6×6 images, to check augmentation.
  private let randomDataset: Dataset = {
    var rng = SeededGenerator(seed: 1)
    return Dataset(images: Tensor.normal([23, 3, 6, 6], using: &rng), labels: (0..<23).map { $0 % 10 }, classCount: 10)
  }()

  private func collect(_ loader: BatchLoader) -> [BatchLoader.Batch] { Array(loader) }

  private func samples(_ batch: BatchLoader.Batch) -> [Int] {
    (0..<batch.images.n).map { Int(batch.images.storage[$0 * 16]) }
  }

  func testEachIndexOncePerEpoch() throws {
    let loader = try BatchLoader(dataset: dataset, batchSize: 5, epoch: 0, seed: 7)
    XCTAssertEqual(loader.batchCount, 5)
    let batches = collect(loader)
    XCTAssertEqual(batches.map(\.index), [0, 1, 2, 3, 4])
    XCTAssertEqual(batches.map { $0.images.shape }, [[5, 1, 4, 4], [5, 1, 4, 4], [5, 1, 4, 4], [5, 1, 4, 4], [3, 1, 4, 4]])
    let seen = batches.flatMap(samples)
    XCTAssertEqual(seen.sorted(), Array(0..<23))
    XCTAssertNotEqual(seen, Array(0..<23), "shuffled")
    for batch in batches {
      XCTAssertEqual(batch.labels, samples(batch).map { $0 % 5 })
      XCTAssertEqual(samples(batch), Array(loader.sampleIndices(ofBatch: batch.index)))
    }
    XCTAssertNil(loader.next())

    // Drop-last: 4 full batches of distinct samples.
    let dropped = collect(try BatchLoader(dataset: dataset, batchSize: 5, epoch: 0, seed: 7, dropLast: true))
    XCTAssertEqual(dropped.count, 4)
    XCTAssertEqual(Set(dropped.flatMap(samples)).count, 20)
    XCTAssertEqual(dropped.flatMap(samples), Array(seen.prefix(20)))

    // Unshuffled: dataset order.
    let ordered = collect(try BatchLoader(dataset: dataset, batchSize: 10, epoch: 3, seed: 7, shuffle: false))
    XCTAssertEqual(ordered.flatMap(samples), Array(0..<23))
  }

  func testEpochsAndSeedsShuffleDifferently() throws {
    let orders = try [(0, 7), (1, 7), (0, 8)].map { epoch, seed in
      collect(try BatchLoader(dataset: dataset, batchSize: 4, epoch: epoch, seed: seed)).flatMap(samples)
    }
    XCTAssertNotEqual(orders[0], orders[1])
    XCTAssertNotEqual(orders[0], orders[2])
    XCTAssertEqual(orders[0], BatchLoader.permutation(count: 23, seed: 7, epoch: 0))
  }

  func testPrefetchDoesNotChangeBatches() throws {
    let augmentation = try Augmentation(padding: 2, fill: [0.5, -0.5, 1])
    let make = { (prefetch: Bool) in
      try BatchLoader(dataset: self.randomDataset, batchSize: 4, epoch: 2, seed: 99, augmentation: augmentation, prefetch: prefetch)
    }
    let with = collect(try make(true)), without = collect(try make(false)), again = collect(try make(true))
    XCTAssertEqual(with.count, 6)
    for (a, b) in zip(with, without) {
      XCTAssertEqual(a.images, b.images)
      XCTAssertEqual(a.labels, b.labels)
    }
    for (a, b) in zip(with, again) { XCTAssertEqual(a.images, b.images) }
    // The batches are the dataset's samples in the epoch's order, augmented with the
    // epoch's draws for those positions.
    let loader = try make(false)
    let draws = augmentation.draws(count: 23, seed: 99, epoch: 2)
    for batch in with {
      let indices = loader.sampleIndices(ofBatch: batch.index)
      var expected = randomDataset.batch(indices).images
      try augmentation.apply(Array(draws[batch.index * 4..<batch.index * 4 + indices.count]), to: &expected)
      XCTAssertEqual(batch.images, expected, "batch \(batch.index)")
    }
    // Augmentation actually changed something.
    XCTAssertNotEqual(with[0].images, randomDataset.batch(loader.sampleIndices(ofBatch: 0)).images)
  }

  func testStartingMidEpochEqualsTheTail() throws {
    let augmentation = try Augmentation(padding: 1)
    let full = collect(try BatchLoader(dataset: randomDataset, batchSize: 5, epoch: 1, seed: 3, augmentation: augmentation))
    for start in 0...5 {
      for prefetch in [true, false] {
        let tail = collect(try BatchLoader(
          dataset: randomDataset, batchSize: 5, epoch: 1, seed: 3, augmentation: augmentation, startBatch: start, prefetch: prefetch))
        XCTAssertEqual(tail.map(\.index), Array(start..<5))
        XCTAssertEqual(tail.map(\.images), full.dropFirst(start).map(\.images))
        XCTAssertEqual(tail.map(\.labels), full.dropFirst(start).map(\.labels))
      }
    }
  }

  func testBuffersAreReused() throws {
    let loader = try BatchLoader(dataset: randomDataset, batchSize: 4, epoch: 0, seed: 1, augmentation: .init(padding: 2, fill: [0, 0, 0]))
    // The batch is dropped when this returns.
    func nextAddress() -> UnsafeRawPointer {
      let batch = loader.next()!
      return batch.images.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress!) }
    }
    let addresses = (0..<5).map { _ in nextAddress() }
    // Two alternating buffers (the caller dropped each batch before the next).
    XCTAssertEqual(Set(addresses).count, 2)
    XCTAssertEqual(addresses[0], addresses[2])
    XCTAssertEqual(addresses[1], addresses[3])
  }

  func testHeldBatchesStayIntact() throws {
    // Holding every batch forces copy-on-write instead of overwriting.
    let held = collect(try BatchLoader(dataset: dataset, batchSize: 3, epoch: 0, seed: 5))
    XCTAssertEqual(held.flatMap(samples).sorted(), Array(0..<23))
  }

  func testCancellation() throws {
    let loader = try BatchLoader(dataset: dataset, batchSize: 2, epoch: 0, seed: 1)
    XCTAssertNotNil(loader.next())
    XCTAssertNotNil(loader.next())
    loader.cancel()
    XCTAssertTrue(loader.isCancelled)
    XCTAssertNil(loader.next())
    XCTAssertNil(loader.next())
    // From another thread, while batches are being consumed.
    let other = try BatchLoader(dataset: randomDataset, batchSize: 1, epoch: 0, seed: 1, augmentation: .init(padding: 4, fill: [0, 0, 0]))
    var count = 0
    while other.next() != nil {
      count += 1
      if count == 3 {
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
          other.cancel()
          done.signal()
        }
        done.wait()
      }
    }
    XCTAssertEqual(count, 3)
  }

  func testInvalidSettings() {
    XCTAssertThrowsError(try BatchLoader(dataset: dataset, batchSize: 0, epoch: 0, seed: 1))
    XCTAssertThrowsError(try BatchLoader(dataset: dataset, batchSize: 5, epoch: 0, seed: 1, startBatch: 6))
    XCTAssertThrowsError(try BatchLoader(dataset: dataset, batchSize: 5, epoch: -1, seed: 1))
    XCTAssertThrowsError(
      try BatchLoader(dataset: dataset, batchSize: 5, epoch: 0, seed: 1, augmentation: .cifar(normalization: .cifar10))
    ) { error in
      XCTAssertTrue("\(error)".contains("3 fill values for images with 1 channels"), "\(error)")
    }
    XCTAssertNoThrow(try BatchLoader(dataset: dataset, batchSize: 5, epoch: 0, seed: 1, startBatch: 5))
    XCTAssertEqual(BatchLoader.batchCount(samples: 50_000, batchSize: 64, dropLast: false), 782)
    XCTAssertEqual(BatchLoader.batchCount(samples: 50_000, batchSize: 64, dropLast: true), 781)
  }
}
