import DiswotData
import DiswotTensor
import XCTest

final class CIFARReaderTests: XCTestCase {
  /// Two records in each training batch, three in the test batch; labels cycle 0-9.
  private func writeCIFAR10(to directory: URL) throws -> (train: [[UInt8]], test: [[UInt8]]) {
    var train: [[UInt8]] = []
    for batch in 1...5 {
      let records = (0..<2).map { i in
        Fixtures.cifarRecord(labels: [UInt8((train.count + i) % 10)], seed: train.count + i)
      }
      try write(records.flatMap { $0 }, to: directory, "data_batch_\(batch).bin")
      train += records
    }
    let test = (0..<3).map { Fixtures.cifarRecord(labels: [UInt8(9 - $0)], seed: 100 + $0) }
    try write(test.flatMap { $0 }, to: directory, "test_batch.bin")
    return (train, test)
  }

  func testDecodesCIFAR10PixelsAndLabelsExactly() throws {
    let directory = try makeTemporaryDirectory()
    let (train, test) = try writeCIFAR10(to: directory)

    let trainSet = try CIFAR10.load(directory: directory.path, split: .train)
    XCTAssertEqual(trainSet.images.shape, [10, 3, 32, 32])
    XCTAssertEqual(trainSet.labels, Array(0..<10))
    XCTAssertEqual(trainSet.classCount, 10)
    XCTAssertEqual(trainSet.images.storage, Fixtures.expectedPixels(train, labelBytes: 1))

    let testSet = try CIFAR10.load(directory: directory.path + "/", split: .test)
    XCTAssertEqual(testSet.labels, [9, 8, 7])
    XCTAssertEqual(testSet.images.storage, Fixtures.expectedPixels(test, labelBytes: 1))
    // Layout: byte 1 + 1024·c + 32·y + x of record n is pixel [n, c, y, x].
    XCTAssertEqual(testSet.images[2, 1, 5, 7], Float(test[2][1 + 1024 + 32 * 5 + 7]) / 255)
  }

  func testRedGreenBluePlanesBecomeChannels() throws {
    let directory = try makeTemporaryDirectory()
    let record: [UInt8] =
      [4] + [UInt8](repeating: 255, count: 1024) + [UInt8](repeating: 0, count: 1024)
      + [UInt8](repeating: 51, count: 1024)
    try write(record, to: directory, "test_batch.bin")
    let data = try CIFAR10.load(directory: directory.path, split: .test)
    XCTAssertEqual(data.labels, [4])
    XCTAssertEqual(data.images[0, 0, 31, 31], 1)
    XCTAssertEqual(data.images[0, 1, 0, 0], 0)
    XCTAssertEqual(data.images[0, 2, 16, 3], Float(51) / 255)
  }

  func testLimitReadsOnlyTheFirstImagesAcrossFiles() throws {
    let directory = try makeTemporaryDirectory()
    let (train, _) = try writeCIFAR10(to: directory)
    let data = try CIFAR10.load(directory: directory.path, split: .train, limit: 3)
    XCTAssertEqual(data.count, 3)
    XCTAssertEqual(data.labels, [0, 1, 2])
    XCTAssertEqual(data.images.storage, Fixtures.expectedPixels(Array(train[..<3]), labelBytes: 1))
    XCTAssertEqual(try CIFAR10.load(directory: directory.path, split: .train, limit: 0).count, 0)
    XCTAssertEqual(
      try CIFAR10.load(directory: directory.path, split: .train, limit: 1000).count, 10)
  }

  func testRecordsAreReadByIndexAcrossFilesInTheOrderAsked() throws {
    let directory = try makeTemporaryDirectory()
    let (train, _) = try writeCIFAR10(to: directory)
    XCTAssertEqual(try CIFAR10.count(directory: directory.path, split: .train), 10)
    let indices = [7, 0, 9, 2, 3, 7]  // every file, out of order, one twice
    let data = try CIFAR10.load(directory: directory.path, split: .train, records: indices)
    let full = try CIFAR10.load(directory: directory.path, split: .train)
    XCTAssertEqual(data.labels, indices.map { full.labels[$0] })
    XCTAssertEqual(data.images.storage, Fixtures.expectedPixels(indices.map { train[$0] }, labelBytes: 1))
    XCTAssertEqual(data.images.storage, full.batch(indices).images.storage)
    XCTAssertEqual(try CIFAR10.load(directory: directory.path, split: .train, records: []).count, 0)
  }

  func testEveryTrainingBatchMustExist() throws {
    let directory = try makeTemporaryDirectory()
    _ = try writeCIFAR10(to: directory)
    let missing = directory.appendingPathComponent("data_batch_4.bin").path
    try FileManager.default.removeItem(atPath: missing)
    XCTAssertThrowsError(try CIFAR10.load(directory: directory.path, split: .train, limit: 1)) {
      XCTAssertEqual($0 as? DatasetError, .missingFile(missing))
      XCTAssertEqual("\($0)", "missing dataset file \(missing)")
    }
  }

  func testAFileThatIsNotWholeRecordsIsAnError() throws {
    let directory = try makeTemporaryDirectory()
    let truncated = Array(
      (Fixtures.cifarRecord(labels: [1], seed: 0) + Fixtures.cifarRecord(labels: [2], seed: 1))
        .dropLast(5))
    try write(truncated, to: directory, "test_batch.bin")
    let path = directory.appendingPathComponent("test_batch.bin").path
    XCTAssertThrowsError(try CIFAR10.load(directory: directory.path, split: .test)) {
      XCTAssertEqual(
        "\($0)",
        "dataset file \(path) has 6141 bytes; expected a multiple of the 3073-byte CIFAR-10 record "
          + "(1 label byte + 3072 pixel bytes)")
    }
  }

  func testALabelOutsideTheClassesIsAnErrorNamingTheRecord() throws {
    let directory = try makeTemporaryDirectory()
    let records = [
      Fixtures.cifarRecord(labels: [3], seed: 0), Fixtures.cifarRecord(labels: [10], seed: 1),
    ]
    try write(records.flatMap { $0 }, to: directory, "test_batch.bin")
    let path = directory.appendingPathComponent("test_batch.bin").path
    XCTAssertThrowsError(try CIFAR10.load(directory: directory.path, split: .test)) {
      XCTAssertEqual(
        $0 as? DatasetError, .badLabel(file: path, record: 1, label: 10, classCount: 10))
    }
    XCTAssertEqual(try CIFAR10.load(directory: directory.path, split: .test, limit: 1).labels, [3])
  }

  func testCIFAR100UsesFineLabelsOrOptionallyCoarseOnes() throws {
    let directory = try makeTemporaryDirectory()
    let records = [
      Fixtures.cifarRecord(labels: [19, 99], seed: 0),
      Fixtures.cifarRecord(labels: [0, 42], seed: 1),
    ]
    try write(records.flatMap { $0 }, to: directory, "train.bin")

    let fine = try CIFAR100.load(directory: directory.path, split: .train)
    XCTAssertEqual(fine.labels, [99, 42])
    XCTAssertEqual(fine.classCount, 100)
    XCTAssertEqual(fine.images.storage, Fixtures.expectedPixels(records, labelBytes: 2))

    let coarse = try CIFAR100.load(directory: directory.path, split: .train, labels: .coarse)
    XCTAssertEqual(coarse.labels, [19, 0])
    XCTAssertEqual(coarse.classCount, 20)
    XCTAssertEqual(coarse.images, fine.images)

    XCTAssertThrowsError(try CIFAR100.load(directory: directory.path, split: .test)) {
      XCTAssertEqual(
        $0 as? DatasetError, .missingFile(directory.appendingPathComponent("test.bin").path))
    }
  }

  func testCIFAR100RejectsFineLabelsAbove99AndCoarseAbove19() throws {
    let directory = try makeTemporaryDirectory()
    try write(Fixtures.cifarRecord(labels: [20, 100], seed: 0), to: directory, "test.bin")
    let path = directory.appendingPathComponent("test.bin").path
    XCTAssertThrowsError(try CIFAR100.load(directory: directory.path, split: .test)) {
      XCTAssertEqual(
        $0 as? DatasetError, .badLabel(file: path, record: 0, label: 100, classCount: 100))
    }
    XCTAssertThrowsError(
      try CIFAR100.load(directory: directory.path, split: .test, labels: .coarse)
    ) {
      XCTAssertEqual(
        $0 as? DatasetError, .badLabel(file: path, record: 0, label: 20, classCount: 20))
    }
  }
}
