import DiswotTensor
import DiswotTestSupport
import Foundation
import XCTest

/// `diswot train --teacher-weights a,b --teacher-mix …` end to end, as real processes.
final class MultiTeacherTrainCommandTests: XCTestCase {
  private var root: URL!
  private var data: URL!
  private var untrained: String!

  override func setUpWithError() throws {
    root = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-multi-\(UUID())")
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    data = try SyntheticCIFAR.write(train: 96, test: 32)
    untrained = root.appendingPathComponent("untrained.safetensors").path
    try FormulaTeacher.writeUntrained(to: untrained, classes: 10)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: root)
    try? FileManager.default.removeItem(at: data)
  }

  private func json(_ text: String) throws -> [String: Any] {
    try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
  }

  private func settings(_ teachers: [String]) -> [String] {
    ["--student", "resnet8", "--data", "cifar10:\(data.path)", "--epochs", "2", "--batch", "16", "--seed", "3",
     "--no-augment", "--teacher-weights", teachers.joined(separator: ","), "--json"]
  }

  private func metrics(_ run: String) throws -> [[String: Any]] {
    try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map { try json(String($0)) }
  }

  /// Given weights are normalised, kept in spec.json, and every epoch's line holds each
  /// teacher's KD term, weight and share, with KD = Σ mix·KD_t.
  func testGivenMixIsLoggedWithEachTeachersShare() throws {
    let run = root.appendingPathComponent("run").path
    let result = try Executables.run(
      "diswot", ["train", "--out", run, "--teacher-mix", "1,3"] + settings([try FormulaTeacher.trained, untrained]))
    XCTAssertEqual(result.status, 0, result.standardError)
    let spec = try json(String(contentsOfFile: run + "/spec.json", encoding: .utf8))
    XCTAssertEqual(spec["teacher_mix"] as? [Double], [0.25, 0.75])
    XCTAssertEqual((spec["more_teachers"] as? [[String: Any]])?.map { $0["weights"] as? String }, [untrained])
    // The result names every teacher, hashed, not only the first.
    let provenance = try XCTUnwrap(try json(result.standardOutput)["spec"] as? [String: Any])
    XCTAssertEqual((provenance["teacher"] as? [String: Any])?["weights"] as? String, try FormulaTeacher.trained)
    let more = try XCTUnwrap(provenance["more_teachers"] as? [[String: Any]], "\(provenance)")
    XCTAssertEqual(more.map { $0["weights"] as? String }, [untrained])
    XCTAssertEqual(more.first?["sha256"] as? String, try Executables.sha256sum(untrained))
    XCTAssertEqual(more.first?["name"] as? String, "resnet20")
    let lines = try metrics(run)
    XCTAssertEqual(lines.count, 2)
    for line in lines {
      let losses = try XCTUnwrap(line["losses"] as? [String: Double])
      let (kd0, kd1) = (try XCTUnwrap(losses["kd_teacher0"]), try XCTUnwrap(losses["kd_teacher1"]))
      XCTAssertEqual(try XCTUnwrap(losses["kd"]), 0.25 * kd0 + 0.75 * kd1, accuracy: 1e-9 * max(1, kd0 + kd1))
      let teachers = try XCTUnwrap(line["teachers"] as? [[String: Any]])
      XCTAssertEqual(teachers.map { $0["weights"] as? String }, [try FormulaTeacher.trained, untrained])
      XCTAssertEqual(teachers.map { $0["mix"] as? Double }, [0.25, 0.75])
      let share0 = try XCTUnwrap(teachers[0]["share"] as? Double)
      XCTAssertEqual(share0, 0.25 * kd0 / (0.25 * kd0 + 0.75 * kd1), accuracy: 1e-12)
      XCTAssertEqual(share0 + (teachers[1]["share"] as? Double ?? 0), 1, accuracy: 1e-12)
    }
  }

  /// The same teacher twice at 0.5 each is that teacher alone (up to float rounding of the
  /// summed gradients): the multi-teacher loss is the mix of single-teacher losses.
  func testTheSameTeacherTwiceTrainsAsThatTeacherAlone() throws {
    let copy = root.appendingPathComponent("copy.safetensors").path
    try FileManager.default.copyItem(atPath: try FormulaTeacher.trained, toPath: copy)
    let (single, double) = (root.appendingPathComponent("single").path, root.appendingPathComponent("double").path)
    let one = try Executables.run("diswot", ["train", "--out", single] + settings([try FormulaTeacher.trained]))
    XCTAssertEqual(one.status, 0, one.standardError)
    let two = try Executables.run("diswot", ["train", "--out", double, "--teacher-mix", "0.5,0.5"] + settings([try FormulaTeacher.trained, copy]))
    XCTAssertEqual(two.status, 0, two.standardError)
    XCTAssertNil(try metrics(single)[0]["teachers"], "a single-teacher line is unchanged")
    for (a, b) in zip(try metrics(single), try metrics(double)) {
      let (la, lb) = (try XCTUnwrap(a["losses"] as? [String: Double]), try XCTUnwrap(b["losses"] as? [String: Double]))
      for key in ["kd", "ce", "total"] {
        XCTAssertEqual(la[key]!, lb[key]!, accuracy: 1e-3 * max(1, abs(la[key]!)), key)
      }
    }
  }

  /// `ranked`: the mix is the softmax of `diswot teachers`' scores on the training images;
  /// both teachers have the data's classes, so the scores are label log-likelihoods and T
  /// is 1 nat.
  func testRankedMixIsTheSoftmaxOfTheTeachersScores() throws {
    let teachers = [try FormulaTeacher.trained, untrained!]
    let ranking = try Executables.run("diswot", ["teachers", "--json", "--data", "cifar10:\(data.path)", "--candidates", teachers.joined(separator: ",")])
    XCTAssertEqual(ranking.status, 0, ranking.standardError)
    let report = try json(ranking.standardOutput)
    XCTAssertEqual(report["measure"] as? String, "label-log-likelihood")
    let candidates = try XCTUnwrap(report["candidates"] as? [[String: Any]])
    let scores = try teachers.map { file in try XCTUnwrap(candidates.first { $0["weights"] as? String == file }?["score"] as? Double) }
    XCTAssertNotEqual(scores[0], scores[1])
    let exponentials = scores.map { exp($0 / 1) }
    let expected = exponentials.map { $0 / exponentials.reduce(0, +) }
    let run = root.appendingPathComponent("ranked").path
    let result = try Executables.run("diswot", ["train", "--out", run, "--teacher-mix", "ranked", "--epochs", "1"] + settings(teachers))
    XCTAssertEqual(result.status, 0, result.standardError)
    let mix = try XCTUnwrap(try json(String(contentsOfFile: run + "/spec.json", encoding: .utf8))["teacher_mix"] as? [Double])
    XCTAssertEqual(mix.count, 2)
    for (got, want) in zip(mix, expected) { XCTAssertEqual(got, want, accuracy: 1e-12) }
  }

  /// Killed mid-epoch and resumed, a two-teacher run ends bit for bit as an uninterrupted one.
  func testKilledAndResumedMatchesAnUninterruptedRun() throws {
    let teachers = [try FormulaTeacher.trained, untrained!]
    let args = ["--teacher-mix", "0.3,0.7", "--checkpoint-every", "2"] + settings(teachers)
    let a = root.appendingPathComponent("a").path
    let straight = try Executables.run("diswot", ["train", "--out", a] + args)
    XCTAssertEqual(straight.status, 0, straight.standardError)
    let b = root.appendingPathComponent("b").path
    XCTAssertTrue(try Executables.trainKilledMidEpoch(out: b, args), "the run finished before a mid-epoch checkpoint could be interrupted")
    let resumed = try Executables.run("diswot", ["train", "--resume", b, "--json"])
    XCTAssertEqual(resumed.status, 0, resumed.standardError)
    XCTAssertEqual(
      try Data(contentsOf: URL(fileURLWithPath: b + "/student.safetensors")),
      try Data(contentsOf: URL(fileURLWithPath: a + "/student.safetensors")), "the same student, byte for byte")
    let (la, lb) = (try metrics(a), try metrics(b))
    XCTAssertEqual(lb.map { $0["epoch"] as? Int }, [0, 1], "each epoch logged exactly once")
    for (x, y) in zip(la, lb) {
      XCTAssertEqual(x["losses"] as? [String: Double], y["losses"] as? [String: Double])
      XCTAssertNotNil(y["teachers"])
    }
  }

  func testBadMixesAreUsageErrors() throws {
    let two = settings([try FormulaTeacher.trained, untrained])
    for (extra, teachers) in [
      (["--teacher-mix", "1,2,3"], two), (["--teacher-mix", "0,0"], two), (["--teacher-mix", "-1,2"], two),
      (["--teacher-mix", "ranked:0"], two), (["--teacher-mix", "a,b"], two), (["--distill", "sp"], two),
      (["--teacher-mix", "1"], settings([try FormulaTeacher.trained])),
      ([], settings([try FormulaTeacher.trained, try FormulaTeacher.trained])),
    ] {
      let result = try Executables.run("diswot", ["train", "--out", root.appendingPathComponent("bad").path] + extra + teachers)
      XCTAssertFalse(result.crashed)
      XCTAssertEqual(result.status, 2, "\(extra): \(result.standardError)")
    }
  }
}
