import DiswotTestSupport
import Foundation
import XCTest

/// One model-naming scheme across the commands (issue 12, item 3): the name `eval` prints
/// for a weights file is accepted by `score`, `search` and `train`, and a teacher's
/// architecture is read off its weights when no name is given.
final class ModelNameCommandTests: XCTestCase {
  private var root: URL!
  private var data: URL!

  override func setUpWithError() throws {
    root = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-names-\(UUID())")
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    data = try SyntheticCIFAR.write(train: 16, test: 8)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: root)
    try? FileManager.default.removeItem(at: data)
  }

  private func run(_ arguments: [String], status: Int32 = 0, file: StaticString = #filePath, line: UInt = #line) throws -> Executables.Result {
    let result = try Executables.run("diswot", arguments)
    XCTAssertFalse(result.crashed, file: file, line: line)
    XCTAssertEqual(result.status, status, "diswot \(arguments.joined(separator: " ")): \(result.standardError)", file: file, line: line)
    return result
  }

  /// Trains `student` for one short epoch and returns its weights file.
  private func train(_ student: String, _ extra: [String] = []) throws -> String {
    let out = root.appendingPathComponent("run-\(UUID())").path
    _ = try run(
      ["train", "--student", student, "--data", "cifar10:\(data.path)", "--epochs", "1", "--batch", "8", "--out", out, "--json"]
        + extra)
    return out + "/student.safetensors"
  }

  private func evalName(_ weights: String) throws -> String {
    let result = try run(["eval", "--weights", weights, "--data", "cifar10:\(data.path)", "--json"])
    let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
    return try XCTUnwrap(report["model"] as? String)
  }

  private func scores(_ result: Executables.Result) throws -> [String: Double] {
    let line = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
    return try XCTUnwrap(line["scores"] as? [String: Double])
  }

  private let scoreOne = ["score", "--space", "resnet-cifar-depth", "--arch", #"{"depths":[1,1,1],"widths":[16,32,64]}"#, "--proxies", "diswot", "--jsonl", "-"]

  /// The issue's case: a widths-32/64/128 ResNet, trained here, is named
  /// `resnet-d1_1_1-w32_64_128` by `eval`; `score` takes it as a teacher without a name
  /// and with that name, and refuses a name it does not match, naming both.
  func testANonZooResNetIsNamedAndAcceptedEverywhere() throws {
    let weights = try train("resnet-d1_1_1-w32_64_128")
    XCTAssertEqual(try evalName(weights), "resnet-d1_1_1-w32_64_128")
    _ = try run(["eval", "--weights", weights, "--model", "resnet-d1_1_1-w32_64_128", "--data", "cifar10:\(data.path)"])

    let inferred = try run(scoreOne + ["--teacher-weights", weights])
    XCTAssertTrue(inferred.standardError.contains("against resnet-d1_1_1-w32_64_128 (weights"), inferred.standardError)
    let named = try run(scoreOne + ["--teacher-weights", weights, "--teacher", "resnet-d1_1_1-w32_64_128"])
    XCTAssertEqual(try scores(named), try scores(inferred), "the name changes nothing when it agrees")

    let wrong = try run(scoreOne + ["--teacher-weights", weights, "--teacher", "resnet56"], status: 3)
    XCTAssertTrue(
      wrong.standardError.contains("the weights file holds resnet-d1_1_1-w32_64_128, not resnet56"), wrong.standardError)

    // The same name as a randomly initialised teacher, in a local search, and as the
    // checked teacher of a training run.
    _ = try run(scoreOne + ["--teacher", "resnet-d1_1_1-w32_64_128"])
    let search = try run(
      ["search", "--local", "--space", "resnet-cifar-depth", "--budget", "2", "--proxy", "diswot", "--reference-size", "8",
       "--teacher", "resnet-d1_1_1-w32_64_128", "--teacher-weights", weights, "--json"])
    XCTAssertTrue(search.standardError.contains("against resnet-d1_1_1-w32_64_128"), search.standardError)
    _ = try train("resnet8", ["--teacher", "resnet-d1_1_1-w32_64_128", "--teacher-weights", weights])
    let mismatch = try run(
      ["train", "--student", "resnet8", "--teacher", "resnet20", "--teacher-weights", weights, "--data", "cifar10:\(data.path)",
       "--epochs", "1", "--out", root.appendingPathComponent("mismatch").path], status: 3)
    XCTAssertTrue(mismatch.standardError.contains("holds resnet-d1_1_1-w32_64_128, not resnet20"), mismatch.standardError)
  }

  /// A search space's architecture is named `SPACE:KEY` (a bare NAS-Bench-201 cell
  /// string for short): trained as a student by that name, printed back by `eval` in
  /// canonical form, and accepted as a teacher by either spelling.
  func testASpaceArchitectureIsNamedByItsSpaceAndKey() throws {
    let cell = "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_1x1~2|"
    let weights = try train(cell, ["--train-limit", "8"])
    XCTAssertEqual(try evalName(weights), "nas-bench-201:\(cell)")
    for name in [cell, "nas-bench-201:\(cell)"] {
      _ = try run(scoreOne + ["--teacher-weights", weights, "--teacher", name])
    }
    let other = "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
    let wrong = try run(scoreOne + ["--teacher-weights", weights, "--teacher", other], status: 3)
    XCTAssertTrue(wrong.standardError.contains("holds nas-bench-201:\(cell), not nas-bench-201:\(other)"), wrong.standardError)
  }

  /// A name that is none of the forms is a bad value (exit 2) saying what a name is, on
  /// every command that takes one.
  func testAnUnknownNameIsAUsageErrorThatListsTheForms() throws {
    for arguments in [
      scoreOne + ["--teacher", "densenet121"],
      ["train", "--student", "resnet21", "--data", "cifar10:\(data.path)", "--out", root.appendingPathComponent("x").path],
      ["export", "--model", "resnet-d1_1-w16", "--out", "-"],
    ] {
      let result = try run(arguments, status: 2)
      XCTAssertTrue(result.standardError.contains("resnet-d{blocks}-w{widths}") || result.standardError.contains("6n+2"), result.standardError)
    }
  }
}
