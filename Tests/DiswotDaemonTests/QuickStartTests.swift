import DiswotTestSupport
import Foundation
import XCTest

/// The README's daemon quick start and `Scripts/run.sh`'s hand-off hint, run as a user
/// would run them (issue 12, items 9 and 10): real bash, the real executables, the
/// daemon's default endpoints.
///
/// What a test must change, and nothing else: `.build/release/` becomes this build's
/// directory (a debug build); the sizes shrink so that a debug build finishes in seconds
/// (`--budget 24` gets a 3-evaluation search on 8-image probes with an 8-architecture
/// reference, `--epochs 240` one epoch on 64 images); `HOME` is a scratch directory, so
/// `~/data` and `~/diswot-state` are the test's own; the data are synthetic CIFAR-10
/// records and a freshly initialised ResNet-56 teacher (`diswot export --weights-out`).
final class QuickStartTests: XCTestCase {
  /// The repository: README.md and Scripts/ are read from the checkout under test.
  private let repository = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  private let scale = [
    ("--budget 24", "--budget 3 --reference-size 8 --batch 8"),
    ("--epochs 240", "--epochs 1 --train-limit 64 --test-limit 32 --batch 16"),
  ]

  func testTheReadmeQuickStartRunsAsWritten() throws {
    let readme = try String(contentsOf: repository.appendingPathComponent("README.md"), encoding: .utf8)
    let block = try XCTUnwrap(Self.shellBlock(after: "<!-- quick-start -->", in: readme), "README.md has the quick start block")
    XCTAssertTrue(block.contains("--data-root $DATA"), "the daemon is told where the data are")
    XCTAssertEqual(
      block.components(separatedBy: "--teacher-weights $DATA/cifar10-resnet56.safetensors").count - 1, 2,
      "the search and the training use the same teacher")

    let home = try scratchDirectory(self)
    let data = home.appendingPathComponent("data")
    try prepareData(in: data)
    var script = block.replacingOccurrences(of: ".build/release/", with: buildDirectory.path + "/")
    for (from, to) in scale {
      XCTAssertTrue(script.contains(from), "the quick start says \(from)")
      script = script.replacingOccurrences(of: from, with: to)
    }
    let result = try bash(script, home: home)
    XCTAssertEqual(result.status, 0, "stdout:\n\(result.standardOutput)\nstderr:\n\(result.standardError)")
    XCTAssertTrue(result.standardOutput.contains("test accuracy"), result.standardOutput)
    XCTAssertTrue(
      FileManager.default.fileExists(atPath: home.appendingPathComponent("diswot-state/diswot.sqlite").path),
      "the daemon kept its state where the quick start says")
  }

  /// Without data, run.sh finds a student and prints how to train it; the daemon it ran is
  /// stopped by then, so the hint must bring one up on the state it left — and work.
  func testRunShHintWithoutDataWorksAfterTheScriptEnds() throws {
    let run = try bash(
      "Scripts/run.sh --data gaussian --budget 3 --reference-size 8 --probe-batch 8 --bin \(buildDirectory.path)",
      home: nil, directory: repository)
    XCTAssertEqual(run.status, 0, "stdout:\n\(run.standardOutput)\nstderr:\n\(run.standardError)")
    let hint = run.standardOutput.split(separator: "\n").map(String.init)
      .drop { !$0.hasPrefix("or train the student this search found") }.dropFirst()
      .drop { !$0.hasPrefix("  ") }.prefix { $0.hasPrefix("  ") }
      .map { $0.trimmingCharacters(in: .whitespaces) }
    XCTAssertEqual(hint.count, 3, run.standardOutput)
    guard hint.count == 3 else { return }
    XCTAssertTrue(hint[1].contains("train start --search s-"), hint[1])

    let scratch = try scratchDirectory(self)
    let dataset = try SyntheticCIFAR.write(train: 128, test: 64)
    defer { try? FileManager.default.removeItem(at: dataset) }
    // run.sh leaves its temporary directory (the daemon's state and log) for the user.
    if let state = hint[0].components(separatedBy: "--state-dir ").last?.components(separatedBy: "/state ").first {
      addTeardownBlock { try? FileManager.default.removeItem(atPath: state) }
    }
    var script = hint.joined(separator: "\n")
      .replacingOccurrences(of: "--data-root DIR", with: "--data-root \(dataset.path)")
      .replacingOccurrences(of: "cifar10:DIR", with: "cifar10:\(dataset.path)")
    for (from, to) in scale { script = script.replacingOccurrences(of: from, with: to) }
    let result = try bash(script, home: scratch)
    XCTAssertEqual(result.status, 0, "\(script)\nstdout:\n\(result.standardOutput)\nstderr:\n\(result.standardError)")
    XCTAssertTrue(result.standardOutput.contains("test accuracy"), result.standardOutput)
  }

  /// `DATA`'s contents as the quick start describes them.
  private func prepareData(in data: URL) throws {
    let images = data.appendingPathComponent("cifar-10-batches-bin")
    try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
    let synthetic = try SyntheticCIFAR.write(train: 128, test: 64)
    try FileManager.default.moveItem(at: synthetic, to: images)
    let teacher = try Executables.run("diswot", [
      "export", "--model", "resnet56", "--out", data.appendingPathComponent("teacher.py").path,
      "--weights-out", data.appendingPathComponent("cifar10-resnet56.safetensors").path,
    ])
    XCTAssertEqual(teacher.status, 0, teacher.standardError)
  }

  /// The lines of the first ```sh block after `marker`.
  static func shellBlock(after marker: String, in text: String) -> String? {
    guard let start = text.range(of: marker) else { return nil }
    let rest = text[start.upperBound...]
    guard let open = rest.range(of: "```sh\n"), let close = rest[open.upperBound...].range(of: "```") else { return nil }
    return String(rest[open.upperBound..<close.lowerBound])
  }

  private func bash(_ script: String, home: URL?, directory: URL? = nil) throws -> Executables.Result {
    // The README's commands use the daemon's default endpoints: a network of their own.
    try Executables.bash(script, environment: home.map { ["HOME": $0.path] } ?? [:], in: directory, privateNetwork: true)
  }
}
