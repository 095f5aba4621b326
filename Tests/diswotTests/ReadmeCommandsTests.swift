import DiswotTestSupport
import Foundation
import XCTest

/// Every `diswot` command of README.md's "The tool" section, run in order in one shell
/// session as a reader would paste them (issue 12: "the README's commands run as written
/// in a test"). The daemon quick start has its own test (`QuickStartTests`).
///
/// What the test changes, and nothing else: `.build/release/` becomes this build's
/// directory (a debug build); the files the README assumes the reader has are made here
/// (a CIFAR-10-format directory of synthetic images at `path/to/cifar-10-batches-bin`, a
/// freshly initialised ResNet-56 as `cifar10-resnet56.safetensors`, ground-truth tables
/// `accuracies.txt` and `cifar10.csv` with made-up accuracies for every architecture of
/// the spaces named); and sizes shrink so that a debug build finishes in seconds (`scale`).
final class ReadmeCommandsTests: XCTestCase {
  private let repository = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// README text → what the test runs instead; each must occur in the section.
  private let scale = [
    ("--all", "--all --reference-size 8 --batch 8"),
    ("--budget 200", "--budget 4 --reference-size 8 --batch 8"),
    ("--budget 1000", "--budget 6 --batch 8"),
    ("--sample 50", "--sample 4 --reference-size 8 --batch 8"),
    ("--sample 1000", "--sample 3 --reference-size 8 --batch 8 --cost-sample 1"),
    ("--epochs 240", "--epochs 1 --train-limit 64 --test-limit 32"),
  ]

  func testEveryCommandOfTheToolSectionRuns() throws {
    let readme = try String(contentsOf: repository.appendingPathComponent("README.md"), encoding: .utf8)
    let section = try XCTUnwrap(readme.components(separatedBy: "\n## The tool\n").last?.components(separatedBy: "\n## ").first)
    let commands = Self.diswotCommands(in: section)
    XCTAssertGreaterThanOrEqual(commands.count, 8, "README's tool section lists its commands")
    for subcommand in ["eval", "score", "search --local", "rank", "quality", "train", "export", "report"] {
      XCTAssertTrue(commands.contains { $0.contains("diswot \(subcommand) ") }, "the README shows \(subcommand)")
    }

    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-readme-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    try prepareFiles(in: directory)

    var script = commands.joined(separator: "\n")
    let build = URL(fileURLWithPath: Executables.path("diswot")).deletingLastPathComponent().path
    script = script.replacingOccurrences(of: ".build/release/", with: build + "/")
    for (from, to) in scale {
      XCTAssertTrue(script.contains(from + " "), "the README says \(from)")
      script = script.replacingOccurrences(of: from + " ", with: to + " ")
    }
    let result = try Executables.bash(script, in: directory)
    XCTAssertEqual(result.status, 0, "\(script)\nstdout:\n\(result.standardOutput.suffix(3000))\nstderr:\n\(result.standardError.suffix(3000))")
    for file in ["scores.jsonl", "runs/r20-kd/student.safetensors", "student.py", "search.html"] {
      XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent(file).path), "\(file) written")
    }
  }

  /// The `.build/release/diswot …` commands of `text`'s ```sh blocks, continuation lines
  /// joined; the block marked `<!-- quick-start -->` is `QuickStartTests`'s.
  static func diswotCommands(in text: String) -> [String] {
    var commands: [String] = []
    let pieces = text.components(separatedBy: "```sh\n")
    for (before, block) in zip(pieces, pieces.dropFirst()) where !before.hasSuffix("<!-- quick-start -->\n") {
      let body = block.components(separatedBy: "```").first ?? ""
      let joined = body.replacingOccurrences(of: "\\\n", with: " ")
      for line in joined.split(separator: "\n") {
        let command = line.trimmingCharacters(in: .whitespaces)
        if command.hasPrefix(".build/release/diswot ") { commands.append(command) }
      }
    }
    return commands
  }

  /// The files the README's commands name, made up: see the type's comment.
  private func prepareFiles(in directory: URL) throws {
    let images = directory.appendingPathComponent("path/to/cifar-10-batches-bin")
    try FileManager.default.createDirectory(at: images.deletingLastPathComponent(), withIntermediateDirectories: true)
    try FileManager.default.moveItem(at: try SyntheticCIFAR.write(train: 128, test: 64), to: images)
    let teacher = try Executables.run("diswot", [
      "export", "--model", "resnet56", "--out", directory.appendingPathComponent("teacher.py").path,
      "--weights-out", directory.appendingPathComponent("cifar10-resnet56.safetensors").path,
    ])
    XCTAssertEqual(teacher.status, 0, teacher.standardError)

    // resnet-cifar-depth: depths {1,3,5,7}³ at widths 16/32/64, keyed as `score` prints them.
    var accuracies = ""
    for a in [1, 3, 5, 7] { for b in [1, 3, 5, 7] { for c in [1, 3, 5, 7] {
      accuracies += "depths=\(a),\(b),\(c);widths=16,32,64 \(90 + Double(a + b + c) / 10)\n"
    } } }
    try accuracies.write(to: directory.appendingPathComponent("accuracies.txt"), atomically: true, encoding: .utf8)

    // NAS-Bench-201: all 5⁶ cells, in the benchmark's CSV layout.
    let operations = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
    var csv = "arch,index,cifar10_test\n"
    for index in 0..<15_625 {
      var rest = index
      var op: [String] = []
      for _ in 0..<6 { op.append(operations[rest % 5]); rest /= 5 }
      let cell = "|\(op[0])~0|+|\(op[1])~0|\(op[2])~1|+|\(op[3])~0|\(op[4])~1|\(op[5])~2|"
      csv += "\(cell),\(index),\(50 + Double(index % 4000) / 100)\n"
    }
    try csv.write(to: directory.appendingPathComponent("cifar10.csv"), atomically: true, encoding: .utf8)
  }
}
