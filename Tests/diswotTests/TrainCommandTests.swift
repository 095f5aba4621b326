import DiswotTensor
import DiswotTestSupport
import Foundation
import XCTest

/// `diswot train` end to end, as real processes: kill -9 mid-epoch and resume, and the
/// exported student through `diswot eval`.
final class TrainCommandTests: XCTestCase {
  func json(_ text: String) throws -> [String: Any] {
    try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
  }

  func testKilledMidEpochThenResumedMatchesAnUninterruptedRun() throws {
    let data = try SyntheticCIFAR.write(train: 480, test: 120)
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-resume-\(UUID())")
    defer {
      try? FileManager.default.removeItem(at: data)
      try? FileManager.default.removeItem(at: root)
    }
    let settings = ["--student", "resnet8", "--data", "cifar10:\(data.path)", "--epochs", "3", "--batch", "16",
                    "--lr", "0.05", "--schedule", "cosine", "--checkpoint-every", "5", "--seed", "7", "--json"]
    let straight = try Executables.run("diswot", ["train", "--out", root.appendingPathComponent("a").path] + settings)
    XCTAssertEqual(straight.status, 0, straight.standardError)
    let expected = try json(straight.standardOutput)

    let b = root.appendingPathComponent("b").path
    XCTAssertTrue(try Executables.trainKilledMidEpoch(out: b, settings), "the run finished before a mid-epoch checkpoint could be interrupted")
    let resumed = try Executables.run("diswot", ["train", "--resume", b, "--json"])
    XCTAssertEqual(resumed.status, 0, resumed.standardError)
    let result = try json(resumed.standardOutput)
    let (want, got) = (expected["test_accuracy"] as! Double, result["test_accuracy"] as! Double)
    XCTAssertEqual(got, want, "resumed \(got) vs uninterrupted \(want)")
    // As Docs/operations.md promises: the resumed run's student is the uninterrupted one,
    // bit for bit (issue 11, item 12).
    let a = root.appendingPathComponent("a").path
    let (straightFile, resumedFile) = (try SafetensorsFile.read(path: a + "/student.safetensors"), try SafetensorsFile.read(path: b + "/student.safetensors"))
    XCTAssertEqual(resumedFile.names, straightFile.names)
    for name in straightFile.names {
      XCTAssertEqual(
        resumedFile.tensors[name]?.storage.map(\.bitPattern), straightFile.tensors[name]!.storage.map(\.bitPattern), name)
    }
    XCTAssertEqual(
      try Data(contentsOf: URL(fileURLWithPath: b + "/student.safetensors")),
      try Data(contentsOf: URL(fileURLWithPath: a + "/student.safetensors")), "the same file, byte for byte")
    let epochs = try String(contentsOfFile: b + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
      .map { try json(String($0))["epoch"] as! Int }
    XCTAssertEqual(epochs, [0, 1, 2], "each epoch logged exactly once")

    // Every batch norm counts the 3 × 30 steps, across the kill: the counters came back
    // from the checkpoint, as I64 scalars PyTorch's strict loading wants.
    let counters = try int64Scalars(b + "/student.safetensors", suffix: "num_batches_tracked")
    XCTAssertEqual(counters.count, 7)
    XCTAssertEqual(Set(counters.values), [90])

    // The exported student gives the trainer's test accuracy through `diswot eval`.
    let eval = try Executables.run("diswot", ["eval", "--weights", b + "/student.safetensors", "--data", "cifar10:\(data.path)", "--json"])
    XCTAssertEqual(eval.status, 0, eval.standardError)
    XCTAssertEqual(try json(eval.standardOutput)["correct"] as? Int, result["test_correct"] as? Int)
  }

  /// The I64 scalars of a safetensors file whose names end in `suffix`, read straight
  /// from the format (8-byte header length, JSON header, data buffer).
  func int64Scalars(_ path: String, suffix: String) throws -> [String: Int64] {
    let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    let length = bytes.prefix(8).reversed().reduce(0) { $0 << 8 | Int($1) }
    let header = try json(String(decoding: bytes[8..<(8 + length)], as: UTF8.self))
    var result: [String: Int64] = [:]
    for (name, entry) in header where name.hasSuffix(suffix) {
      let entry = try XCTUnwrap(entry as? [String: Any])
      XCTAssertEqual(entry["dtype"] as? String, "I64", name)
      XCTAssertEqual(entry["shape"] as? [Int], [], name)
      let begin = 8 + length + (try XCTUnwrap((entry["data_offsets"] as? [Int])?.first))
      result[name] = bytes[begin..<(begin + 8)].reversed().reduce(Int64(0)) { $0 << 8 | Int64($1) }
    }
    return result
  }

  /// A learning rate inside the accepted range that makes the run diverge used to train on
  /// to a NaN loss, write `student.safetensors` and exit 0. Now: exit 1 naming the step,
  /// the last good checkpoint kept (and usable), no student, no later epoch logged.
  func testDivergingRunStopsKeepsTheLastGoodCheckpointAndWritesNoStudent() throws {
    let data = try SyntheticCIFAR.write(train: 96, test: 32)
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-diverge-\(UUID())")
    defer {
      try? FileManager.default.removeItem(at: data)
      try? FileManager.default.removeItem(at: root)
    }
    let common = ["--student", "resnet8", "--data", "cifar10:\(data.path)", "--batch", "16", "--seed", "3"]

    // Diverges within the first epoch: nothing to keep.
    let fast = root.appendingPathComponent("fast").path
    let blownUp = try Executables.run("diswot", ["train", "--out", fast, "--epochs", "2", "--lr", "100"] + common)
    XCTAssertEqual(blownUp.status, 1, blownUp.standardError)
    XCTAssertTrue(blownUp.standardError.contains("training diverged: at epoch 1 step"), blownUp.standardError)
    XCTAssertTrue(blownUp.standardError.contains("no checkpoint had been written and no student was written"), blownUp.standardError)
    XCTAssertFalse(FileManager.default.fileExists(atPath: fast + "/student.safetensors"))

    // One good epoch at 0.05, then ×2000 = 100 from the second: the first epoch's
    // checkpoint is kept, loads as finite weights, and is the only epoch logged.
    let late = root.appendingPathComponent("late").path
    let result = try Executables.run(
      "diswot", ["train", "--out", late, "--epochs", "3", "--lr", "0.05", "--schedule", "multistep:1,gamma=2000"] + common)
    XCTAssertEqual(result.status, 1, result.standardError)
    XCTAssertTrue(result.standardError.contains("training diverged: at epoch 2 step"), result.standardError)
    XCTAssertTrue(result.standardError.contains("the last checkpoint (at the start of epoch 2) is kept"), result.standardError)
    XCTAssertFalse(FileManager.default.fileExists(atPath: late + "/student.safetensors"))
    let state = try json(String(contentsOfFile: late + "/checkpoint.json", encoding: .utf8))
    XCTAssertEqual(state["epoch"] as? Int, 1)
    let weights = try XCTUnwrap((state["configuration"] as? [String: Any])?["weights"] as? String)
    let eval = try Executables.run("diswot", ["eval", "--weights", late + "/" + weights, "--data", "cifar10:\(data.path)", "--json"])
    XCTAssertEqual(eval.status, 0, "the kept checkpoint holds finite weights: \(eval.standardError)")
    let epochs = try String(contentsOfFile: late + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
    XCTAssertEqual(epochs.count, 1)
    XCTAssertFalse(epochs[0].contains("null"))
  }

  func testUsageErrors() throws {
    let noOut = try Executables.run("diswot", ["train", "--student", "resnet8", "--data", "cifar10:/x"])
    XCTAssertEqual(noOut.status, 2)
    let badDistill = try Executables.run("diswot", ["train", "--student", "resnet8", "--data", "cifar10:/x", "--out", "/tmp/x", "--distill", "magic"])
    XCTAssertEqual(badDistill.status, 2)
    let noTeacher = try Executables.run("diswot", ["train", "--student", "resnet8", "--data", "cifar10:/x", "--out", "/tmp/x", "--distill", "sp"])
    XCTAssertEqual(noTeacher.status, 2)
    XCTAssertTrue(noTeacher.standardError.contains("needs --teacher-weights"), noTeacher.standardError)
  }
}
