import DiswotJSON
import DiswotTestSupport
import DiswotWire
import Foundation
import XCTest

/// Multi-teacher KD as a daemon training job: `train.start` carries `more_teachers` and
/// `teacher_mix`, checked on arrival, and the worker's run logs each teacher's share.
final class MultiTeacherDaemonTests: XCTestCase {
  func testATwoTeacherJobRunsAndLogsEachTeachersShare() throws {
    let dir = try scratchDirectory(self)
    let cifar = dir.appendingPathComponent("cifar")
    try writeCIFARFixture(to: cifar, train: 32, test: 8)
    var teachers: [String] = []
    for model in ["resnet8", "resnet14"] {
      let weights = dir.appendingPathComponent("\(model).safetensors").path
      let export = try runCommand("diswot", ["export", "--model", model, "--out", dir.appendingPathComponent("\(model).py").path, "--weights-out", weights])
      XCTAssertEqual(export.status, 0, export.stderr)
      teachers.append(weights)
    }
    let daemon = try DaemonUnderTest(
      state: dir.appendingPathComponent("state"), dataRoot: dir, localWorkers: 1, log: dir.appendingPathComponent("daemon.log"))
    defer { daemon.child.stop() }
    let job = try runCommand("diswot", [
      "train", "start", "--student", "resnet8", "--data", "cifar10:\(cifar.path)", "--epochs", "1", "--batch", "8",
      "--teacher-weights", teachers.joined(separator: ","), "--teacher-mix", "1,3", "--wait", "--json", "--daemon", daemon.client,
    ], timeout: 300)
    XCTAssertEqual(job.status, 0, job.stderr)
    let id = try XCTUnwrap(job.json?["id"].stringValue, job.stdout)
    let metrics = try String(
      contentsOf: daemon.stateDirectory.appendingPathComponent("jobs/\(id)/metrics.jsonl"), encoding: .utf8)
    let line = try XCTUnwrap(JSONValue.parse(Array(metrics.split(separator: "\n")[0].utf8)))
    XCTAssertEqual(line["teachers"].arrayValue?.map { $0["mix"].doubleValue }, [0.25, 0.75])
    XCTAssertEqual(line["teachers"].arrayValue?.map { $0["weights"].stringValue }, teachers)

    // Checked on arrival: a file outside what exists, a mix that does not sum to 1.
    let pirate = try daemon.pirate()
    var spec = RequestCheckTests.trainSpec
    spec["data"] = .string("cifar10:\(cifar.path)")
    spec["distill"] = "kd"
    spec["weights"] = ["crossEntropy": 0.1, "kd": 0.9, "feature": 0, "temperature": 4]
    spec["teacher"] = ["weights": .string(teachers[0])]
    for (more, mix, message) in [
      ([JSONValue.object(["weights": .string(dir.appendingPathComponent("missing.safetensors").path)])], [0.5, 0.5] as [JSONValue], "spec.more_teachers[0]"),
      ([.object(["weights": .string(teachers[1])])], [0.5, 0.6], "teacher_mix must be weights ≥ 0 summing to 1"),
    ] {
      spec["more_teachers"] = .array(more)
      spec["teacher_mix"] = .array(mix)
      guard case .error(let error) = try pirate.call(.trainStart, body: ["spec": .object(spec)]) else {
        XCTFail("\(message): accepted")
        continue
      }
      XCTAssertEqual(error.code, .invalidArgument)
      XCTAssertTrue(error.message.contains(message), error.message)
    }
  }
}
