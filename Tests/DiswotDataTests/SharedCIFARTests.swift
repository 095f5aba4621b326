import DiswotData
import DiswotTestSupport
import Foundation
import XCTest

/// The real CIFAR-10 subset in ../shared (skipped when absent).
final class SharedCIFARTests: XCTestCase {
  private func subsetDirectory() throws -> String {
    try SharedData.require("datasets/cifar10-subset/test_batch.bin").deletingLastPathComponent()
      .path
  }

  func testLoadsTheSubsetWithItsKnownLabelHistograms() throws {
    let directory = try subsetDirectory()
    let train = try CIFAR10.load(directory: directory, split: .train)
    let test = try CIFAR10.load(directory: directory, split: .test)
    XCTAssertEqual(train.images.shape, [4660, 3, 32, 32])
    XCTAssertEqual(test.images.shape, [846, 3, 32, 32])
    // Counted once with numpy: numpy.bincount over the label byte of each 3073-byte record.
    XCTAssertEqual(histogram(train.labels), [479, 479, 444, 448, 489, 435, 464, 477, 481, 464])
    XCTAssertEqual(histogram(test.labels), [83, 70, 88, 84, 76, 79, 97, 87, 88, 94])
  }

  func testFirstTestImageMatchesTheRawBytes() throws {
    let directory = try subsetDirectory()
    let raw = try [UInt8](
      Data(contentsOf: URL(fileURLWithPath: directory + "/test_batch.bin")).prefix(3073))
    let data = try CIFAR10.load(directory: directory, split: .test, limit: 1)
    XCTAssertEqual(data.labels, [Int(raw[0])])
    XCTAssertEqual(CIFAR10.classNames[data.labels[0]], "cat")
    XCTAssertEqual(data.images.storage, raw.dropFirst().map { Float($0) / 255 })
    XCTAssertEqual(data.images[0, 0, 0, 0], Float(158) / 255)  // red plane, first pixel
    XCTAssertEqual(data.images[0, 1, 0, 0], Float(raw[1 + 1024]) / 255)  // green plane, first pixel
  }

  private func histogram(_ labels: [Int]) -> [Int] {
    labels.reduce(into: [Int](repeating: 0, count: 10)) { $0[$1] += 1 }
  }
}
