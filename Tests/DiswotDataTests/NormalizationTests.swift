import DiswotData
import DiswotTensor
import XCTest

final class NormalizationTests: XCTestCase {
  func testParsesCommaSeparatedValuesAsWrittenInWeightsMetadata() throws {
    let normalization = try Normalization(
      mean: "0.485,0.456,0.406", std: " 0.229, 0.224 ,0.225", channels: 3)
    XCTAssertEqual(normalization.mean, [0.485, 0.456, 0.406])
    XCTAssertEqual(normalization.std, [0.229, 0.224, 0.225])
    XCTAssertEqual(normalization.channels, 3)
    XCTAssertEqual("\(normalization)", "mean 0.485,0.456,0.406 std 0.229,0.224,0.225")
  }

  func testRejectsMalformedValues() {
    let cases: [(String, String, String)] = [
      ("0.5,0.5", "0.2,0.2,0.2", "mean '0.5,0.5' has 2 values for 3 channels"),
      ("0.5,0.5,0.5", "0.2,0.2,0.2,0.2", "std '0.2,0.2,0.2,0.2' has 4 values for 3 channels"),
      ("0.5,x,0.5", "0.2,0.2,0.2", "mean '0.5,x,0.5': 'x' is not a number"),
      ("0.5,,0.5", "0.2,0.2,0.2", "mean '0.5,,0.5': '' is not a number"),
      ("0.5,0.5,0.5", "0.2,0,0.2", "std [0.2, 0.0, 0.2] must be finite and greater than 0"),
      ("0.5,0.5,0.5", "0.2,-1,0.2", "std [0.2, -1.0, 0.2] must be finite and greater than 0"),
      ("0.5,nan,0.5", "0.2,0.2,0.2", "mean [0.5, nan, 0.5] is not finite"),
    ]
    for (mean, std, reason) in cases {
      XCTAssertThrowsError(try Normalization(mean: mean, std: std, channels: 3)) {
        XCTAssertEqual($0 as? DatasetError, .invalidNormalization(reason))
      }
    }
    XCTAssertThrowsError(try Normalization(mean: [0.5], std: [0.2, 0.2]))
    XCTAssertThrowsError(try Normalization(mean: [], std: []))
  }

  func testAppliesPerChannelMeanAndStdInPlace() throws {
    var images = try Tensor(shape: [2, 2, 1, 2], storage: [0, 0.5, 1, 0.25, 0.75, 1, 0, 0.5])
    try Normalization(mean: [0.5, 0.25], std: [0.5, 0.25]).apply(to: &images)
    XCTAssertEqual(images.storage, [-1, 0, 3, 0, 0.5, 1, -1, 1])
    XCTAssertEqual(images.shape, [2, 2, 1, 2])
  }

  func testDividesByStdLikePyTorch() throws {
    var images = try Tensor(shape: [1, 1, 1, 1], storage: [Float(200) / 255])
    try Normalization(mean: [0.4914], std: [0.2470]).apply(to: &images)
    XCTAssertEqual(images[0, 0, 0, 0], (Float(200) / 255 - 0.4914) / 0.2470)
  }

  func testChannelCountMustMatchTheImages() throws {
    var images = Tensor(zeros: [1, 1, 2, 2])
    XCTAssertThrowsError(try Normalization.cifar10.apply(to: &images)) {
      XCTAssertEqual(
        $0 as? DatasetError,
        .invalidNormalization(
          "3-channel mean/std cannot normalise images of shape [1, 1, 2, 2] ([N, C, H, W])"))
    }
  }

  func testDatasetDefaults() {
    XCTAssertEqual(Normalization.cifar10.mean, [0.4914, 0.4822, 0.4465])
    XCTAssertEqual(Normalization.cifar10.std, [0.2470, 0.2435, 0.2616])
    XCTAssertEqual(Normalization.cifar100.channels, 3)
    XCTAssertEqual(Normalization.mnist.channels, 1)
  }
}
