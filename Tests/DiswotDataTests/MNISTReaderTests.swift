import DiswotData
import XCTest

final class MNISTReaderTests: XCTestCase {
  private let images: [UInt8] = (0..<(3 * 28 * 28)).map { UInt8(truncatingIfNeeded: $0 * 13 + 5) }

  /// Three 28×28 images labelled 7, 0, 9 as the given split's IDX files.
  private func writeMNIST(
    to directory: URL, prefix: String = "t10k", imageMagic: UInt32 = 2051,
    labelMagic: UInt32 = 2049,
    imageCount: UInt32 = 3, labels: [UInt8] = [7, 0, 9], imageData: [UInt8]? = nil
  ) throws {
    try write(
      Fixtures.idx(magic: imageMagic, dimensions: [imageCount, 28, 28], data: imageData ?? images),
      to: directory, "\(prefix)-images-idx3-ubyte")
    try write(
      Fixtures.idx(magic: labelMagic, dimensions: [UInt32(labels.count)], data: labels),
      to: directory, "\(prefix)-labels-idx1-ubyte")
  }

  func testDecodesIDXImagesAndLabelsExactly() throws {
    let directory = try makeTemporaryDirectory()
    try writeMNIST(to: directory)
    let data = try MNIST.load(directory: directory.path, split: .test)
    XCTAssertEqual(data.images.shape, [3, 1, 28, 28])
    XCTAssertEqual(data.labels, [7, 0, 9])
    XCTAssertEqual(data.classCount, 10)
    XCTAssertEqual(data.images.storage, images.map { Float($0) / 255 })
    XCTAssertEqual(data.images[1, 0, 2, 3], Float(images[784 + 2 * 28 + 3]) / 255)
  }

  func testTrainSplitAndLimit() throws {
    let directory = try makeTemporaryDirectory()
    try writeMNIST(to: directory, prefix: "train")
    let data = try MNIST.load(directory: directory.path, split: .train, limit: 2)
    XCTAssertEqual(data.labels, [7, 0])
    XCTAssertEqual(data.images.storage, images[..<(2 * 784)].map { Float($0) / 255 })
  }

  func testRecordsAreReadByIndexInTheOrderAsked() throws {
    let directory = try makeTemporaryDirectory()
    try writeMNIST(to: directory, prefix: "train")
    XCTAssertEqual(try MNIST.count(directory: directory.path, split: .train), 3)
    let data = try MNIST.load(directory: directory.path, split: .train, records: [2, 0, 2])
    XCTAssertEqual(data.labels, [9, 7, 9])
    let image = { (n: Int) in self.images[(n * 784)..<((n + 1) * 784)].map { Float($0) / 255 } }
    XCTAssertEqual(data.images.storage, image(2) + image(0) + image(2))
  }

  func testWrongMagicIsAnError() throws {
    let directory = try makeTemporaryDirectory()
    try writeMNIST(to: directory, imageMagic: 2049)
    let path = directory.appendingPathComponent("t10k-images-idx3-ubyte").path
    XCTAssertThrowsError(try MNIST.load(directory: directory.path, split: .test)) {
      XCTAssertEqual($0 as? DatasetError, .badMagic(file: path, found: 2049, expected: 2051))
    }
  }

  func testDimensionsMustMatchTheFileSize() throws {
    let directory = try makeTemporaryDirectory()
    try writeMNIST(to: directory, imageData: Array(images.dropLast()))
    let path = directory.appendingPathComponent("t10k-images-idx3-ubyte").path
    XCTAssertThrowsError(try MNIST.load(directory: directory.path, split: .test)) {
      XCTAssertEqual(
        "\($0)",
        "dataset file \(path) has 2367 bytes; expected a 16-byte IDX header and 3×28×28 data bytes")
    }
  }

  func testAFileShorterThanItsHeaderIsAnError() throws {
    let directory = try makeTemporaryDirectory()
    try writeMNIST(to: directory)
    try write([0, 0, 8, 1, 0, 0], to: directory, "t10k-labels-idx1-ubyte")
    let path = directory.appendingPathComponent("t10k-labels-idx1-ubyte").path
    XCTAssertThrowsError(try MNIST.load(directory: directory.path, split: .test)) {
      XCTAssertEqual(
        $0 as? DatasetError,
        .wrongSize(file: path, size: 6, expected: "at least the 8-byte IDX header"))
    }
  }

  func testImageAndLabelCountsMustAgree() throws {
    let directory = try makeTemporaryDirectory()
    try writeMNIST(to: directory, labels: [7, 0])
    XCTAssertThrowsError(try MNIST.load(directory: directory.path, split: .test)) {
      guard case .countMismatch(_, 3, _, 2)? = $0 as? DatasetError else { return XCTFail("\($0)") }
    }
  }

  func testALabelAbove9IsAnErrorNamingTheRecord() throws {
    let directory = try makeTemporaryDirectory()
    try writeMNIST(to: directory, labels: [7, 0, 12])
    let path = directory.appendingPathComponent("t10k-labels-idx1-ubyte").path
    XCTAssertThrowsError(try MNIST.load(directory: directory.path, split: .test)) {
      XCTAssertEqual(
        $0 as? DatasetError, .badLabel(file: path, record: 2, label: 12, classCount: 10))
    }
  }

  func testMissingFilesAreNamed() throws {
    let directory = try makeTemporaryDirectory()
    XCTAssertThrowsError(try MNIST.load(directory: directory.path, split: .train)) {
      XCTAssertEqual(
        $0 as? DatasetError,
        .missingFile(directory.appendingPathComponent("train-images-idx3-ubyte").path))
    }
  }
}
