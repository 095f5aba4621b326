import DiswotJSON
import DiswotTestSupport
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Finding daemon work again (issue 12, item 8): `train list`, and `search watch` /
/// `train watch` re-attaching after a Ctrl-C of `--wait`, with `--wait`'s exit statuses.
final class DaemonWatchTests: XCTestCase {
  func testListAndWatchFindDaemonWorkAgain() throws {
    let dir = try scratchDirectory(self)
    let data = dir.appendingPathComponent("cifar")
    try writeCIFARFixture(to: data, train: 64, test: 32)
    let daemon = try DaemonUnderTest(
      state: dir.appendingPathComponent("state"), dataRoot: dir, localWorkers: 1, log: dir.appendingPathComponent("daemon.log"))
    defer { daemon.child.stop() }
    let at = ["--daemon", daemon.client]

    // Unknown ids are clear errors (exit 3, the protocol's not_found).
    let noSearch = try runCommand("diswot", ["search", "watch", "s-nonexistent"] + at)
    XCTAssertEqual(noSearch.status, 3, noSearch.stderr)
    XCTAssertTrue(noSearch.stderr.contains("no search with id 's-nonexistent'"), noSearch.stderr)
    let noJob = try runCommand("diswot", ["train", "watch", "j-nonexistent"] + at)
    XCTAssertEqual(noJob.status, 3, noJob.stderr)
    XCTAssertTrue(noJob.stderr.contains("no training job with id 'j-nonexistent'"), noJob.stderr)

    // A search followed with --wait, the follower stopped by Ctrl-C, then watched again.
    let follower = try Child("diswot", [
      "search", "start", "--space", "resnet-cifar-depth", "--teacher", "resnet20", "--batch", "16", "--proxy", "diswot",
      "--strategy", "random", "--seed", "3", "--budget", "6", "--wait",
    ] + at, log: dir.appendingPathComponent("follower.log"))
    let pirate = try daemon.pirate()
    try waitUntil(30, "the search to start") { ask(pirate, .searchList)?["searches"].arrayValue?.count == 1 }
    let searchID = try XCTUnwrap(ask(pirate, .searchList)?["searches"][0]["id"].stringValue)
    try waitUntil(30, "the follower to say how to follow again") { follower.logText.contains("diswot search watch \(searchID)") }
    follower.stop(SIGINT)
    let watched = try runCommand("diswot", ["search", "watch", searchID, "-k", "3", "--json"] + at)
    XCTAssertEqual(watched.status, 0, watched.stderr)
    let report = try XCTUnwrap(watched.json, watched.stdout)
    XCTAssertEqual(report["id"].stringValue, searchID)
    XCTAssertEqual(report["evaluations"], 6)
    XCTAssertEqual(report["status"].stringValue.map { ["finished", "exhausted"].contains($0) }, true, "\(report)")
    XCTAssertEqual(report["best"].arrayValue?.count, 3)
    XCTAssertGreaterThan(report["seconds"].doubleValue ?? 0, 0, "the search's own time, creation to last update")

    // A training job from a spec file (--config, its epochs overridden): listed, watched
    // to its end, listed as finished.
    let config = dir.appendingPathComponent("spec.json")
    let spec: JSONValue = [
      "student": ["name": "resnet8"], "data": .string("cifar10:\(data.path)"), "epochs": 50, "batch": 16, "lr": 0.05,
      "schedule": "cosine", "momentum": 0.9, "weight_decay": 0.0005, "nesterov": false, "distill": "none",
      "weights": ["crossEntropy": 1, "kd": 0, "feature": 0, "temperature": 4], "label_smoothing": 0, "augment": true, "seed": 1,
      "checkpoint_every_steps": 0,
    ]
    try Data(spec.compactText.utf8).write(to: config)
    let started = try runCommand("diswot", [
      "train", "start", "--config", config.path, "--epochs", "2", "--name", "watched", "--json",
    ] + at)
    XCTAssertEqual(started.status, 0, started.stderr)
    let jobID = try XCTUnwrap(started.json?["id"].stringValue)
    let listed = try runCommand("diswot", ["train", "list", "--json"] + at)
    XCTAssertEqual(listed.status, 0, listed.stderr)
    XCTAssertEqual(listed.json?["jobs"][0]["id"].stringValue, jobID)
    XCTAssertEqual(listed.json?["jobs"][0]["name"], "watched")
    XCTAssertEqual(listed.json?["jobs"][0]["epochs"], 2)
    let job = try runCommand("diswot", ["train", "watch", jobID, "--json"] + at)
    XCTAssertEqual(job.status, 0, job.stderr + daemon.child.logText)
    XCTAssertEqual(job.json?["state"], "finished")
    XCTAssertNotNil(job.json?["result"]["test_accuracy"].doubleValue)
    let table = try runCommand("diswot", ["train", "list"] + at)
    XCTAssertEqual(table.status, 0, table.stderr)
    let row = try XCTUnwrap(table.stdout.split(separator: "\n").first { $0.hasPrefix(jobID) }, table.stdout)
    for cell in ["finished", "2/2", "resnet8", "watched", " %"] { XCTAssertTrue(row.contains(cell), "\(cell) in \(row)") }

    // A cancelled job: watch ends with --wait's status for it, 5.
    let long = try runCommand("diswot", [
      "train", "start", "--student", "resnet8", "--data", "cifar10:\(data.path)", "--epochs", "1000", "--batch", "16", "--json",
    ] + at)
    let longID = try XCTUnwrap(long.json?["id"].stringValue, long.stderr)
    let cancel = try runCommand("diswot", ["train", "cancel", longID] + at)
    XCTAssertEqual(cancel.status, 0, cancel.stderr)
    let cancelled = try runCommand("diswot", ["train", "watch", longID] + at)
    XCTAssertEqual(cancelled.status, 5, cancelled.stderr)
    XCTAssertTrue(cancelled.stdout.contains("\(longID) cancelled"), cancelled.stdout)
    let newestFirst = try runCommand("diswot", ["train", "list", "--limit", "1", "--json"] + at)
    XCTAssertEqual(newestFirst.json?["jobs"].arrayValue?.map { $0["id"].stringValue }, [longID])
  }
}
