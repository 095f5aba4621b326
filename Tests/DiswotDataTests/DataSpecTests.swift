import DiswotData
import XCTest

final class DataSpecTests: XCTestCase {
  func testParsesEveryKind() throws {
    XCTAssertEqual(
      try DataSpec(parsing: "cifar10:../shared/datasets/cifar10-subset"),
      .cifar10(directory: "../shared/datasets/cifar10-subset"))
    XCTAssertEqual(try DataSpec(parsing: "cifar100:/data/c100"), .cifar100(directory: "/data/c100"))
    XCTAssertEqual(try DataSpec(parsing: "MNIST:m"), .mnist(directory: "m"))
    XCTAssertEqual(try DataSpec(parsing: "gaussian"), .gaussian)
    XCTAssertEqual(
      try DataSpec(parsing: "cifar10:C:/x"), .cifar10(directory: "C:/x"),
      "only the first colon splits")
  }

  func testDescriptionRoundTrips() throws {
    for text in ["cifar10:a/b", "cifar100:c", "mnist:/m", "folder:/i", "gaussian"] {
      XCTAssertEqual("\(try DataSpec(parsing: text))", text)
    }
  }

  func testUnknownKindListsTheValidOnes() {
    XCTAssertThrowsError(try DataSpec(parsing: "imagenet:/data")) {
      XCTAssertEqual(
        "\($0)",
        "invalid data spec 'imagenet:/data': unknown kind 'imagenet' "
          + "(valid: cifar10:DIR, cifar100:DIR, mnist:DIR, folder:DIR, gaussian)")
    }
  }

  func testDirectoryIsRequiredExceptForGaussian() {
    for text in ["cifar10", "cifar10:", "mnist"] {
      XCTAssertThrowsError(try DataSpec(parsing: text)) {
        guard case .invalidSpec(text, let reason)? = $0 as? DatasetError else {
          return XCTFail("\($0)")
        }
        XCTAssertTrue(
          reason.hasSuffix("needs a directory, as in \(text.prefix { $0 != ":" }):DIR"), reason)
      }
    }
    XCTAssertThrowsError(try DataSpec(parsing: "gaussian:/x")) {
      XCTAssertEqual(
        $0 as? DatasetError, .invalidSpec("gaussian:/x", reason: "gaussian takes no directory"))
    }
  }

  func testGaussianHasNoFilesOrNormalization() {
    XCTAssertNil(DataSpec.gaussian.defaultNormalization)
    XCTAssertThrowsError(try DataSpec.gaussian.load(.test)) {
      XCTAssertEqual($0 as? DatasetError, .notOnDisk(.gaussian))
    }
  }

  func testDefaultNormalizationFollowsTheDataset() {
    XCTAssertEqual(DataSpec.cifar10(directory: "d").defaultNormalization, .cifar10)
    XCTAssertEqual(DataSpec.cifar100(directory: "d").defaultNormalization, .cifar100)
    XCTAssertEqual(DataSpec.mnist(directory: "d").defaultNormalization, .mnist)
  }

  func testLoadDispatchesToTheReader() throws {
    let directory = try makeTemporaryDirectory()
    try write(Fixtures.cifarRecord(labels: [5, 61], seed: 3), to: directory, "test.bin")
    let data = try DataSpec.cifar100(directory: directory.path).load(.test)
    XCTAssertEqual(data.labels, [61])
  }
}
