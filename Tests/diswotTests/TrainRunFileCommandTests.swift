import DiswotTestSupport
import Foundation
import XCTest

/// A run directory as something to reproduce and extend (issue 12, item 11): spec.json
/// with absolute paths, `--resume DIR --epochs N`, `--config FILE`.
final class TrainRunFileCommandTests: XCTestCase {
  var root: URL!
  var data: URL!

  override func setUpWithError() throws {
    data = try SyntheticCIFAR.write(train: 160, test: 48)
    root = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-runfile-\(UUID())")
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    // The dataset beside the runs, so the runs can name it by a relative path.
    try FileManager.default.moveItem(at: data, to: root.appendingPathComponent("cifar"))
    data = root.appendingPathComponent("cifar")
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: root)
  }

  func json(_ text: String) throws -> [String: Any] {
    try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
  }

  func file(_ path: String) throws -> Data { try Data(contentsOf: root.appendingPathComponent(path)) }

  func spec(_ run: String) throws -> [String: Any] {
    try json(String(decoding: try file(run + "/spec.json"), as: UTF8.self))
  }

  /// Learning rates metrics.jsonl logged, by epoch.
  func rates(_ run: String) throws -> [Double] {
    try String(decoding: try file(run + "/metrics.jsonl"), as: UTF8.self).split(separator: "\n")
      .map { try XCTUnwrap(try json(String($0))["lr"] as? Double) }
  }

  let common = ["--student", "resnet8", "--data", "cifar10:cifar", "--batch", "16", "--seed", "3", "--json"]

  /// Relative paths on the command line become absolute in spec.json, so the run resumes
  /// from any directory; `--epochs N` extends a finished run (a multistep schedule does not
  /// depend on the length, so the extended run is the 3-epoch run, byte for byte); the
  /// result counts every epoch.
  func testExtendingAFinishedRunFromAnotherDirectoryEqualsTheLongerRun() throws {
    let schedule = ["--schedule", "multistep:1,gamma=0.5"]
    let long = try Executables.run("diswot", ["train", "--out", "long", "--epochs", "3"] + schedule + common, in: root)
    XCTAssertEqual(long.status, 0, long.standardError)
    let short = try Executables.run("diswot", ["train", "--out", "short", "--epochs", "2"] + schedule + common, in: root)
    XCTAssertEqual(short.status, 0, short.standardError)
    XCTAssertEqual(try spec("short")["data"] as? String, "cifar10:" + data.path, "stored absolute")

    // Resumed from elsewhere, with the run named by its absolute path.
    let runPath = root.appendingPathComponent("short").path
    let extended = try Executables.run("diswot", ["train", "--resume", runPath, "--epochs", "3", "--json"], in: URL(fileURLWithPath: "/"))
    XCTAssertEqual(extended.status, 0, extended.standardError)
    XCTAssertEqual(try json(extended.standardOutput)["epochs"] as? Int, 3)
    XCTAssertEqual(try spec("short")["epochs"] as? Int, 3, "spec.json records the new length")
    XCTAssertEqual(try file("short/student.safetensors"), try file("long/student.safetensors"))
    XCTAssertEqual(try rates("short"), [0.05, 0.025, 0.025])

    // Resuming a finished run trains nothing and says how to train longer.
    let again = try Executables.run("diswot", ["train", "--resume", runPath], in: URL(fileURLWithPath: "/"))
    XCTAssertEqual(again.status, 0, again.standardError)
    XCTAssertTrue(again.standardError.contains("has trained all its 3 epochs; give --resume DIR --epochs N to train it longer"), again.standardError)
    XCTAssertFalse(again.standardError.contains("finished 0"), again.standardError)
    XCTAssertEqual(try file("short/student.safetensors"), try file("long/student.safetensors"))
  }

  /// The cosine schedule over an extended run: recomputed for the new length and continued
  /// at the current epoch (the rate jumps up to the longer curve).
  func testExtendedCosineScheduleIsRecomputedForTheNewLength() throws {
    let first = try Executables.run("diswot", ["train", "--out", "cos", "--epochs", "2", "--schedule", "cosine"] + common, in: root)
    XCTAssertEqual(first.status, 0, first.standardError)
    let extended = try Executables.run("diswot", ["train", "--resume", "cos", "--epochs", "4"], in: root)
    XCTAssertEqual(extended.status, 0, extended.standardError)
    let cosine = { (t: Double, total: Double) in 0.05 * (1 + cos(Double.pi * t / total)) / 2 }
    let logged = try rates("cos")
    let expected = [cosine(0, 2), cosine(1, 2), cosine(2, 4), cosine(3, 4)]
    XCTAssertEqual(logged.count, 4)
    for (got, want) in zip(logged, expected) { XCTAssertEqual(got, want, accuracy: 1e-12, "\(logged)") }
  }

  /// With --resume, anything that would change the run is an error naming it; a length
  /// shorter than what was trained is an error; --config with --resume too.
  func testResumeRefusesChanges() throws {
    let first = try Executables.run("diswot", ["train", "--out", "run", "--epochs", "2"] + common, in: root)
    XCTAssertEqual(first.status, 0, first.standardError)
    let before = try file("run/spec.json")
    for (extra, says) in [
      (["--lr", "0.1", "--seed", "4"], "--lr, --seed would change it"),
      (["--epochs", "3", "--no-augment"], "--no-augment would change it"),
      (["--config", "run/spec.json"], "--config would change it"),
      (["--out", "other"], "--out would change it"),
      (["--epochs", "1"], "--epochs 1 is shorter than the 2 epochs"),
    ] {
      let result = try Executables.run("diswot", ["train", "--resume", "run"] + extra, in: root)
      XCTAssertEqual(result.status, 2, "\(extra): \(result.standardError)")
      XCTAssertTrue(result.standardError.contains(says), "\(extra): \(result.standardError)")
    }
    XCTAssertEqual(try file("run/spec.json"), before, "nothing changed")
  }

  /// `--config FILE` starts a new run from a saved spec: unchanged it reproduces the run
  /// byte for byte; options given override their fields, the rest kept; unknown fields
  /// are errors.
  func testConfigReproducesARunAndOptionsOverrideIt() throws {
    let first = try Executables.run(
      "diswot", ["train", "--out", "a", "--epochs", "2", "--lr", "0.03", "--schedule", "cosine", "--label-smoothing", "0.1"] + common, in: root)
    XCTAssertEqual(first.status, 0, first.standardError)
    let copy = try Executables.run("diswot", ["train", "--config", "a/spec.json", "--out", "b", "--json"], in: root)
    XCTAssertEqual(copy.status, 0, copy.standardError)
    XCTAssertEqual(try file("b/spec.json"), try file("a/spec.json"))
    XCTAssertEqual(try file("b/student.safetensors"), try file("a/student.safetensors"))

    let changed = try Executables.run(
      "diswot", ["train", "--config", root.appendingPathComponent("a/spec.json").path, "--out", root.appendingPathComponent("c").path, "--seed", "9", "--epochs", "1"],
      in: URL(fileURLWithPath: "/tmp"))
    XCTAssertEqual(changed.status, 0, changed.standardError)
    var want = try spec("a")
    (want["seed"], want["epochs"]) = (9, 1)
    XCTAssertEqual(NSDictionary(dictionary: try spec("c")), NSDictionary(dictionary: want))

    var typo = try spec("a")
    typo["learning_rate"] = 0.1
    try JSONSerialization.data(withJSONObject: typo).write(to: root.appendingPathComponent("typo.json"))
    let refused = try Executables.run("diswot", ["train", "--config", "typo.json", "--out", "d"], in: root)
    XCTAssertEqual(refused.status, 3, refused.standardError)
    XCTAssertTrue(refused.standardError.contains("unknown field 'learning_rate'"), refused.standardError)
    XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent("d").path))
  }

  /// Overriding the teacher or the method of a config: a teacher added to a plain run
  /// distils with KD's default weights; another --distill starts from that method's
  /// defaults; an explicit weight still wins; the config's own weights stay when neither
  /// changes.
  func testConfigTeacherAndMethodOverrides() throws {
    let teacher = root.appendingPathComponent("teacher.safetensors")
    try ResNetWeights.write(to: teacher)
    let plain = try Executables.run("diswot", ["train", "--out", "plain", "--epochs", "1", "--train-limit", "32"] + common, in: root)
    XCTAssertEqual(plain.status, 0, plain.standardError)
    func weights(_ run: String) throws -> [String: Double] {
      try XCTUnwrap(try spec(run)["weights"] as? [String: Double])
    }
    XCTAssertEqual(try spec("plain")["distill"] as? String, "none")
    XCTAssertEqual(try weights("plain")["crossEntropy"], 1)

    let kd = try Executables.run(
      "diswot", ["train", "--config", "plain/spec.json", "--teacher-weights", "teacher.safetensors", "--alpha", "0.5", "--out", "kd"], in: root)
    XCTAssertEqual(kd.status, 0, kd.standardError)
    XCTAssertEqual(try spec("kd")["distill"] as? String, "kd")
    XCTAssertEqual((try spec("kd")["teacher"] as? [String: Any])?["weights"] as? String, teacher.path, "absolute")
    XCTAssertEqual(try weights("kd"), ["crossEntropy": 0.1, "kd": 0.5, "feature": 0, "temperature": 4])

    let same = try Executables.run("diswot", ["train", "--config", "kd/spec.json", "--out", "same"], in: root)
    XCTAssertEqual(same.status, 0, same.standardError)
    XCTAssertEqual(try weights("same")["kd"], 0.5, "the config's weights, its method unchanged")

    let at = try Executables.run("diswot", ["train", "--config", "kd/spec.json", "--distill", "at", "--out", "at"], in: root)
    XCTAssertEqual(at.status, 0, at.standardError)
    XCTAssertEqual(try spec("at")["distill"] as? String, "at")
    XCTAssertEqual(try weights("at")["kd"], 0.9, "AT's defaults, not the KD run's α")
    XCTAssertGreaterThan(try weights("at")["feature"] ?? 0, 0)

    let orphan = try Executables.run("diswot", ["train", "--config", "plain/spec.json", "--teacher", "resnet8", "--out", "orphan"], in: root)
    XCTAssertEqual(orphan.status, 2, orphan.standardError)
    XCTAssertTrue(orphan.standardError.contains("--teacher names the teacher of --teacher-weights"), orphan.standardError)
  }
}
