import DiswotJSON
import DiswotTestSupport
import Foundation
import XCTest

/// The daemon takes the model names the local commands take (issue 12, item 3): a
/// non-zoo ResNet as the teacher of `search.start` and `train.start`, read off its weights
/// when not named, checked against them when named; a space's architecture as a student.
final class ModelNameDaemonTests: XCTestCase {
  func testTheDaemonAcceptsTheSameModelNames() throws {
    let dir = try scratchDirectory(self)
    let cifar = dir.appendingPathComponent("cifar")
    try writeCIFARFixture(to: cifar, train: 16, test: 8)
    let weights = dir.appendingPathComponent("teacher.safetensors").path
    let export = try runCommand(
      "diswot", ["export", "--model", "resnet-d1_1_1-w32_64_128", "--out", dir.appendingPathComponent("t.py").path, "--weights-out", weights])
    XCTAssertEqual(export.status, 0, export.stderr)
    let daemon = try DaemonUnderTest(
      state: dir.appendingPathComponent("state"), dataRoot: dir, localWorkers: 1, log: dir.appendingPathComponent("daemon.log"))
    defer { daemon.child.stop() }
    let connect = ["--daemon", daemon.client]
    let search = ["search", "start", "--space", "resnet-cifar-depth", "--proxy", "diswot", "--budget", "2", "--batch", "8"] + connect

    for teacher in [[], ["--teacher", "resnet-d1_1_1-w32_64_128"]] {
      let started = try runCommand("diswot", search + ["--teacher-weights", weights, "--wait", "--json"] + teacher, timeout: 300)
      XCTAssertEqual(started.status, 0, "\(teacher): \(started.stderr)")
      XCTAssertEqual(started.json?["evaluations"], 2, started.stdout)
    }
    let wrong = try runCommand("diswot", search + ["--teacher-weights", weights, "--teacher", "resnet56"])
    // Refused on arrival as an invalid argument (exit 3, as every refused request).
    XCTAssertEqual(wrong.status, 3, wrong.stderr)
    XCTAssertTrue(wrong.stderr.contains("holds resnet-d1_1_1-w32_64_128, not resnet56"), wrong.stderr)
    let unknown = try runCommand("diswot", search + ["--teacher", "densenet121"])
    XCTAssertEqual(unknown.status, 3, unknown.stderr)
    XCTAssertTrue(unknown.stderr.contains("scoring.teacher.name: unknown model: 'densenet121'"), unknown.stderr)

    let cell = "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_1x1~2|"
    let train = ["train", "start", "--data", "cifar10:\(cifar.path)", "--epochs", "1", "--batch", "8", "--teacher-weights", weights] + connect
    let job = try runCommand(
      "diswot", train + ["--student", cell, "--teacher", "resnet-d1_1_1-w32_64_128", "--wait", "--json"], timeout: 300)
    XCTAssertEqual(job.status, 0, job.stderr)
    XCTAssertEqual(job.json?["state"], "finished", job.stdout)
    XCTAssertEqual(job.json?["student"]["name"].stringValue, "nas-bench-201:\(cell)")
    let mismatch = try runCommand("diswot", train + ["--student", "resnet8", "--teacher", "resnet20"])
    XCTAssertEqual(mismatch.status, 3, mismatch.stderr)
    XCTAssertTrue(mismatch.stderr.contains("spec.teacher: weights do not match the model: the weights file holds resnet-d1_1_1-w32_64_128, not resnet20"), mismatch.stderr)
  }
}
