import DiswotData
import DiswotDistillation
import DiswotTensor
import DiswotTestSupport
import Foundation
import XCTest

/// `BatchLoader` over an image folder: every batch a pure function of (seed, epoch,
/// position) whether prepared ahead or not and wherever the epoch starts, random crops
/// that change with the epoch, and evaluation batches in folder order.
final class StreamedBatchTests: XCTestCase {
  private var root: URL!

  override func setUpWithError() throws {
    root = try SyntheticImageFolder.write(train: 11, test: 3, width: 30, height: 26)
  }

  override func tearDown() { try? FileManager.default.removeItem(at: root) }

  private func images(randomCrops: Bool, split: Split = .train) throws -> StreamedImages {
    try StreamedImages(
      split: DataSplit(.folder(directory: root.path), split), size: 16, randomCrops: randomCrops, normalization: .imagenet,
      skipBadImages: false)
  }

  private func batches(_ loader: BatchLoader) throws -> [(images: [UInt32], labels: [Int])] {
    var out: [(images: [UInt32], labels: [Int])] = []
    while let batch = try loader.nextBatch() { out.append((batch.images.storage.map(\.bitPattern), batch.labels)) }
    return out
  }

  func testBatchesAreTheSameAheadOrNotAndFromAnyStartBatch() throws {
    let source = BatchLoader.Source.streamed(try images(randomCrops: true))
    let ahead = try batches(BatchLoader(source: source, batchSize: 5, epoch: 2, seed: 9))
    let inline = try batches(BatchLoader(source: source, batchSize: 5, epoch: 2, seed: 9, prefetch: false))
    XCTAssertEqual(ahead.count, 5, "23 images in batches of 5")
    XCTAssertEqual(ahead.map(\.images), inline.map(\.images))
    XCTAssertEqual(ahead.map(\.labels), inline.map(\.labels))
    let tail = try batches(BatchLoader(source: source, batchSize: 5, epoch: 2, seed: 9, startBatch: 3))
    XCTAssertEqual(tail.map(\.images), Array(ahead.dropFirst(3)).map(\.images), "a resumed epoch rebuilds the same crops")
    let nextEpoch = try batches(BatchLoader(source: source, batchSize: 5, epoch: 3, seed: 9))
    XCTAssertNotEqual(nextEpoch.map(\.images), ahead.map(\.images), "each epoch its own order and crops")
  }

  func testEvaluationBatchesAreCentreCropsInFolderOrder() throws {
    let test = try images(randomCrops: false, split: .test)
    let loader = try BatchLoader(source: .streamed(test), batchSize: 4, epoch: 0, seed: 1, shuffle: false)
    let all = try batches(loader)
    XCTAssertEqual(all.flatMap(\.labels), [0, 0, 0, 0, 1, 1, 1], "3 PNGs and the JPEG of c0, then c1")
    let direct = try test.split.load(Array(0..<4), height: 16, width: 16)
    var expected = direct.dataset
    try expected.normalize(.imagenet)
    XCTAssertEqual(all[0].images, expected.images.storage.map(\.bitPattern))
  }

  /// A batch written into the previous batch's storage (no fresh allocation, no copy) holds
  /// the same pixels as one loaded afresh.
  func testRecycledStorageIsWrittenInPlace() throws {
    let split = try DataSplit(.folder(directory: root.path), .train)
    var recycled = try split.load(Array(0..<4), height: 16, width: 16).dataset.images
    let address = recycled.withUnsafeBufferPointer { $0.baseAddress }
    let second = try split.load(Array(4..<8), height: 16, width: 16, recycling: &recycled).dataset.images
    XCTAssertEqual(second.withUnsafeBufferPointer { $0.baseAddress }, address)
    XCTAssertEqual(recycled.shape, [0], "taken, not shared")
    XCTAssertEqual(second, try split.load(Array(4..<8), height: 16, width: 16).dataset.images)
    var wrongShape = Tensor(zeros: [2, 3, 16, 16])
    XCTAssertEqual(try split.load(Array(0..<4), height: 16, width: 16, recycling: &wrongShape).dataset.images.shape, [4, 3, 16, 16])
  }

  func testABadImageStopsTheLoaderNamingIt() throws {
    let bad = root.appendingPathComponent("train/c1/zz.png")
    try Data("garbage".utf8).write(to: bad)
    let loader = try BatchLoader(source: .streamed(try images(randomCrops: true)), batchSize: 4, epoch: 0, seed: 1)
    XCTAssertThrowsError(try batches(loader)) { XCTAssertTrue("\($0)".contains(bad.path), "\($0)") }
  }
}
