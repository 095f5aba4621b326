import DiswotTestSupport
import DiswotJSON
import Foundation
import XCTest

/// A daemon search's `search.best` and a training job's `train.status` carry the spec of
/// how their results are made, in the shape `search --local --json` prints (issue 12,
/// item 13), the teacher's weights hashed when the request arrived.
final class ProvenanceDaemonTests: XCTestCase {
  func testSearchBestAndTrainStatusCarryTheSpec() throws {
    let dir = try scratchDirectory(self)
    let cifar = dir.appendingPathComponent("cifar")
    try writeCIFARFixture(to: cifar, train: 16, test: 8)
    let weights = dir.appendingPathComponent("teacher.safetensors").path
    let export = try runCommand("diswot", ["export", "--model", "resnet8", "--out", dir.appendingPathComponent("t.py").path, "--weights-out", weights])
    XCTAssertEqual(export.status, 0, export.stderr)
    let sha = try Executables.sha256sum(weights)
    let daemon = try DaemonUnderTest(
      state: dir.appendingPathComponent("state"), dataRoot: dir, localWorkers: 1, log: dir.appendingPathComponent("daemon.log"))
    defer { daemon.child.stop() }
    let connect = ["--daemon", daemon.client]

    let search = try runCommand("diswot", [
      "search", "start", "--space", "resnet-cifar-depth", "--proxy", "diswot", "--budget", "2", "--batch", "8", "--seed", "4",
      "--teacher-weights", weights, "--wait", "--json",
    ] + connect, timeout: 300)
    XCTAssertEqual(search.status, 0, search.stderr)
    let id = try XCTUnwrap(search.json?["id"].stringValue)
    let best = try runCommand("diswot", ["search", "best", id, "--json"] + connect)
    let spec = try XCTUnwrap(best.json?["spec"].objectValue, best.stdout)
    XCTAssertEqual(Set(spec.keys), ["space", "student", "teacher", "more_teachers", "data", "unlabelled", "seed", "proxy", "version"])
    XCTAssertEqual(spec["teacher"], ["name": "resnet8", "weights": .string(weights), "sha256": .string(sha)])
    XCTAssertEqual(spec["seed"], 4)
    XCTAssertEqual(spec["proxy"], "diswot")
    XCTAssertEqual(spec["student"], .null)
    XCTAssertEqual(search.json?["spec"].objectValue, spec, "search start --wait --json prints it too")

    let job = try runCommand("diswot", [
      "train", "start", "--search", id, "--data", "cifar10:\(cifar.path)", "--epochs", "1", "--batch", "8", "--teacher-weights", weights,
      "--wait", "--json",
    ] + connect, timeout: 300)
    XCTAssertEqual(job.status, 0, job.stderr)
    let jobSpec = try XCTUnwrap(job.json?["spec"].objectValue, job.stdout)
    XCTAssertEqual(jobSpec["teacher"], spec["teacher"])
    XCTAssertEqual(jobSpec["space"], "resnet-cifar-depth")
    XCTAssertEqual(jobSpec["student"]?.stringValue?.hasPrefix("resnet-cifar-depth:depths="), true, "\(jobSpec)")
    XCTAssertEqual(jobSpec["proxy"], .null)
    XCTAssertEqual(jobSpec["version"], spec["version"])
  }
}
