import DiswotTestSupport
import Foundation
import XCTest

/// `diswot eval` end to end, as a real process.
final class EvalCommandTests: XCTestCase {
  private func evalJSON(_ arguments: [String]) throws -> [String: Any] {
    let result = try Executables.run("diswot", ["eval", "--json"] + arguments)
    XCTAssertEqual(result.status, 0, result.standardError)
    return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
  }

  /// The shared teachers reproduce PyTorch's top-1 on the 846 shared test images
  /// (776/787/793/789 correct, ../shared/README.md) within ±2 images.
  func testSharedTeachersMatchPyTorchAccuracy() throws {
    let data = try SharedData.require("datasets/cifar10-subset")
    for (depth, pytorchCorrect) in [(20, 776), (32, 787), (44, 793), (56, 789)] {
      let weights = try SharedData.require("teachers/cifar10-resnet\(depth).safetensors")
      let report = try evalJSON(["--model", "resnet\(depth)", "--weights", weights.path, "--data", "cifar10:\(data.path)"])
      let correct = try XCTUnwrap(report["correct"] as? Int)
      XCTAssertEqual(report["samples"] as? Int, 846)
      XCTAssertLessThanOrEqual(abs(correct - pytorchCorrect), 2, "resnet\(depth): \(correct) vs PyTorch \(pytorchCorrect)")
      if depth == 56 { XCTAssertGreaterThanOrEqual(try XCTUnwrap(report["accuracy"] as? Double), 0.930) }
      XCTAssertNotNil(report["seconds"] as? Double)
    }
  }

  /// The README's recipe, `save_file(model.state_dict(), …)`, as PyTorch writes it (I64
  /// `num_batches_tracked`, no metadata; Fixtures/make_resnet20_pytorch.py): the shared
  /// ResNet-20 resaved by PyTorch evaluates exactly as the shared file does.
  func testAPyTorchSavedStateDictEvaluatesLikeTheSharedFile() throws {
    let data = try SharedData.require("datasets/cifar10-subset")
    let shared = try SharedData.require("teachers/cifar10-resnet20.safetensors")
    let resaved = try XCTUnwrap(
      Bundle.module.url(forResource: "cifar10-resnet20-pytorch", withExtension: "safetensors", subdirectory: "Fixtures"))
    let normalization = ["--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225"]
    let reference = try evalJSON(["--weights", shared.path, "--data", "cifar10:\(data.path)"])
    let report = try evalJSON(["--weights", resaved.path, "--data", "cifar10:\(data.path)"] + normalization)
    XCTAssertEqual(report["model"] as? String, "resnet20")
    XCTAssertEqual(report["correct"] as? Int, 776)
    XCTAssertEqual(reference["correct"] as? Int, 776)
  }

  /// `--logits` keeps every image's logits (F32 [N, K]) and label (I64 [N]), in order.
  func testLogitsAreWrittenForEveryImage() throws {
    let data = try SyntheticCIFAR.write(train: 1, test: 12)
    defer { try? FileManager.default.removeItem(at: data) }
    let weights = try XCTUnwrap(
      Bundle.module.url(forResource: "cifar10-resnet20-pytorch", withExtension: "safetensors", subdirectory: "Fixtures"))
    let logits = data.appendingPathComponent("logits.safetensors")
    let report = try evalJSON(["--weights", weights.path, "--data", "cifar10:\(data.path)", "--batch", "5", "--logits", logits.path])
    XCTAssertEqual(report["samples"] as? Int, 12)
    let bytes = try Data(contentsOf: logits)
    let length = bytes.prefix(8).reversed().reduce(0) { $0 << 8 | Int($1) }
    let header = String(decoding: bytes[8..<(8 + length)], as: UTF8.self)
    XCTAssertTrue(header.contains(#""labels":{"dtype":"I64","shape":[12],"data_offsets":[0,96]}"#), header)
    XCTAssertTrue(header.contains(#""logits":{"dtype":"F32","shape":[12,10],"data_offsets":[96,576]}"#), header)
    XCTAssertEqual(bytes.count, 8 + length + 576)
  }

  func testCorruptWeightsFileIsADataErrorNotACrash() throws {
    let weights = try SharedData.require("teachers/cifar10-resnet20.safetensors")
    var bytes = try Data(contentsOf: weights)
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-eval-\(UUID())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let truncated = dir.appendingPathComponent("truncated.safetensors")
    try bytes.prefix(bytes.count / 2).write(to: truncated)
    bytes[20] = 0xFF  // inside the JSON header
    let garbled = dir.appendingPathComponent("garbled.safetensors")
    try bytes.write(to: garbled)
    for file in [truncated, garbled] {
      let result = try Executables.run("diswot", ["eval", "--weights", file.path, "--data", "cifar10:/nonexistent"])
      XCTAssertFalse(result.crashed)
      XCTAssertEqual(result.status, 3, result.standardError)
      XCTAssertTrue(result.standardError.contains(file.lastPathComponent), result.standardError)
    }
  }

  /// Weights holding a NaN used to evaluate to about 10 % with exit 0; now they are a data
  /// error naming the tensor, and finite weights of the same network still evaluate.
  func testNonFiniteWeightsAreADataErrorNamingTheTensor() throws {
    let data = try SyntheticCIFAR.write(train: 10, test: 20)
    defer { try? FileManager.default.removeItem(at: data) }
    let good = data.appendingPathComponent("good.safetensors"), bad = data.appendingPathComponent("nan.safetensors")
    try ResNetWeights.write(to: good)
    try ResNetWeights.write(to: bad) { name, values in if name == "layer2.0.conv2.weight" { values[100] = .nan } }
    let ok = try Executables.run("diswot", ["eval", "--weights", good.path, "--data", "cifar10:\(data.path)", "--json"])
    XCTAssertEqual(ok.status, 0, ok.standardError)
    let result = try Executables.run("diswot", ["eval", "--weights", bad.path, "--data", "cifar10:\(data.path)"])
    XCTAssertFalse(result.crashed)
    XCTAssertEqual(result.status, 3, result.standardError)
    XCTAssertEqual(result.standardOutput, "")
    XCTAssertTrue(result.standardError.contains("weights are not finite: tensor 'layer2.0.conv2.weight' holds NaN"), result.standardError)
  }

  func testWrongModelNameForTheWeightsIsRejected() throws {
    let weights = try SharedData.require("teachers/cifar10-resnet20.safetensors")
    let result = try Executables.run("diswot", ["eval", "--model", "resnet56", "--weights", weights.path, "--data", "cifar10:/nonexistent"])
    XCTAssertEqual(result.status, 3)
    XCTAssertTrue(result.standardError.contains("not resnet56"), result.standardError)
  }

  func testUsageErrorsAndHelp() throws {
    let missing = try Executables.run("diswot", ["eval", "--data", "cifar10:x"])
    XCTAssertEqual(missing.status, 2)
    XCTAssertTrue(missing.standardError.contains("--weights"), missing.standardError)
    let help = try Executables.run("diswot", ["eval", "--help"])
    XCTAssertEqual(help.status, 0)
    for option in ["--weights", "--model", "--data", "--split", "--batch", "--json"] {
      XCTAssertTrue(help.standardOutput.contains(option), option)
    }
  }
}
