import DiswotTestSupport
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C during `diswot train`, as real processes and real SIGINTs (issue 12, item 12).
final class TrainInterruptCommandTests: XCTestCase {
  func json(_ text: String) throws -> [String: Any] {
    try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
  }

  /// SIGINT once the first epoch is logged: a checkpoint, exit 130, the exact resume
  /// command on stderr; that command finishes the run to the uninterrupted run's student,
  /// byte for byte.
  func testCtrlCCheckpointsSaysHowToResumeAndTheResumedRunMatches() throws {
    let data = try SyntheticCIFAR.write(train: 480, test: 120)
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-interrupt-\(UUID())")
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    defer {
      try? FileManager.default.removeItem(at: data)
      try? FileManager.default.removeItem(at: root)
    }
    let settings = ["--student", "resnet8", "--data", "cifar10:\(data.path)", "--epochs", "6", "--batch", "16",
                    "--schedule", "cosine", "--seed", "5", "--json"]
    let a = root.appendingPathComponent("a").path, b = root.appendingPathComponent("b").path
    let straight = try Executables.run("diswot", ["train", "--out", a] + settings)
    XCTAssertEqual(straight.status, 0, straight.standardError)

    let stderr = root.appendingPathComponent("stderr.txt")
    let victim = try Executables.start("diswot", ["train", "--out", b] + settings, standardError: stderr)
    let deadline = Date().addingTimeInterval(120)
    var signalled = false
    while victim.isRunning && Date() < deadline {
      if let log = try? String(contentsOfFile: b + "/metrics.jsonl", encoding: .utf8), !log.isEmpty {
        kill(victim.processIdentifier, SIGINT)
        signalled = true
        break
      }
      usleep(5_000)
    }
    victim.waitUntilExit()
    XCTAssertTrue(signalled, "the run ended before its first epoch was logged")
    let said = try String(contentsOf: stderr, encoding: .utf8)
    XCTAssertEqual(victim.terminationReason, .exit, said)
    XCTAssertEqual(victim.terminationStatus, 130, said)
    XCTAssertTrue(said.contains("interrupt: stopping after the current step and writing a checkpoint"), said)
    XCTAssertTrue(said.contains("interrupted; checkpoint written"), said)
    XCTAssertTrue(FileManager.default.fileExists(atPath: b + "/checkpoint.json"))
    XCTAssertFalse(FileManager.default.fileExists(atPath: b + "/student.safetensors"), "an interrupted run writes no student")
    let state = try json(String(contentsOfFile: b + "/checkpoint.json", encoding: .utf8))
    XCTAssertGreaterThanOrEqual(state["global_step"] as? Int ?? 0, 30, "the first epoch (30 steps) was trained")
    XCTAssertLessThan(state["global_step"] as? Int ?? .max, 180, "interrupted before the end")

    // The exact command it printed, run as printed (from another directory).
    let hint = try XCTUnwrap(said.split(separator: "\n").first { $0.hasPrefix("resume with: ") }, said)
    let command = hint.dropFirst("resume with: ".count).split(separator: " ").map(String.init)
    XCTAssertEqual(command, [Executables.path("diswot"), "train", "--resume", b])
    let resumed = try Executables.run("diswot", Array(command.dropFirst()) + ["--json"], in: URL(fileURLWithPath: "/"))
    XCTAssertEqual(resumed.status, 0, resumed.standardError)
    XCTAssertEqual(try json(resumed.standardOutput)["test_correct"] as? Int, try json(straight.standardOutput)["test_correct"] as? Int)
    XCTAssertEqual(
      try Data(contentsOf: URL(fileURLWithPath: b + "/student.safetensors")),
      try Data(contentsOf: URL(fileURLWithPath: a + "/student.safetensors")), "the uninterrupted run's student, byte for byte")
  }

  /// A second Ctrl-C does not wait for the checkpoint: it exits 130 at once, saying so.
  func testSecondCtrlCExitsAtOnce() throws {
    let data = try SyntheticCIFAR.write(train: 96, test: 32)
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-interrupt2-\(UUID())")
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    defer {
      try? FileManager.default.removeItem(at: data)
      try? FileManager.default.removeItem(at: root)
    }
    let run = root.appendingPathComponent("run").path
    let stderr = root.appendingPathComponent("stderr.txt")
    let victim = try Executables.start(
      // A step of ResNet-56 on 96 images takes long enough for both signals to land in it.
      "diswot", ["train", "--out", run, "--student", "resnet56", "--data", "cifar10:\(data.path)", "--epochs", "50", "--batch", "96"],
      standardError: stderr)
    // spec.json is written after the handler is installed, before the first step.
    let deadline = Date().addingTimeInterval(60)
    while victim.isRunning && Date() < deadline && !FileManager.default.fileExists(atPath: run + "/spec.json") { usleep(1_000) }
    kill(victim.processIdentifier, SIGINT)
    usleep(100_000)  // two signals sent at once may arrive as one
    kill(victim.processIdentifier, SIGINT)
    victim.waitUntilExit()
    let said = try String(contentsOf: stderr, encoding: .utf8)
    XCTAssertEqual(victim.terminationReason, .exit, said)
    XCTAssertEqual(victim.terminationStatus, 130, said)
    XCTAssertTrue(said.contains("interrupted again: exiting at once"), said)
    XCTAssertFalse(said.contains("checkpoint written"), "it did not wait for the step to end: \(said)")
  }
}
