import DiswotData
import DiswotTensor
import XCTest

final class DatasetTests: XCTestCase {
  /// Four 1×1×2 images whose pixels are 10·i and 10·i + 1.
  private let data = Dataset(
    images: try! Tensor(shape: [4, 1, 1, 2], storage: [0, 1, 10, 11, 20, 21, 30, 31]),
    labels: [3, 1, 4, 1], classCount: 5)

  func testShapeAccessors() {
    XCTAssertEqual(data.count, 4)
    XCTAssertEqual(data.imageShape, [1, 1, 2])
  }

  func testBatchOfARangeIsAContiguousCopy() {
    let batch = data.batch(1..<3)
    XCTAssertEqual(batch.images.shape, [2, 1, 1, 2])
    XCTAssertEqual(batch.images.storage, [10, 11, 20, 21])
    XCTAssertEqual(batch.labels, [1, 4])
  }

  func testBatchOfShuffledIndicesKeepsTheirOrder() {
    let batch = data.batch([3, 0, 3])
    XCTAssertEqual(batch.images.storage, [30, 31, 0, 1, 30, 31])
    XCTAssertEqual(batch.labels, [1, 3, 1])
    XCTAssertEqual(data.batch(0..<0).images.shape, [0, 1, 1, 2])
  }

  func testPrefixKeepsTheFirstSamples() {
    XCTAssertEqual(data.prefix(2).labels, [3, 1])
    XCTAssertEqual(data.prefix(2).images.storage, [0, 1, 10, 11])
    XCTAssertEqual(data.prefix(2).classCount, 5)
    XCTAssertEqual(data.prefix(10), data)
  }

  func testNormalizeChangesTheImagesInPlace() throws {
    var normalized = data
    try normalized.normalize(Normalization(mean: [1], std: [2]))
    XCTAssertEqual(normalized.images.storage, [-0.5, 0, 4.5, 5, 9.5, 10, 14.5, 15])
    XCTAssertEqual(normalized.labels, data.labels)
  }
}
