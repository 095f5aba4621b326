import DiswotJSON
import DiswotStore
import DiswotTestSupport
import DiswotWire
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Candidates whose objective is not finite, through a real diswotd and its workers: each
/// is recorded as unscorable with its reason (in the store, `search.status` and
/// `search.best`), exactly once across a `kill -9` of the daemon, and a search without any
/// finite score ends `failed` (it used to end `finished` with 0 of 8 evaluated). A null
/// answer is retried (`candidateAttempts` answers in all) before the candidate is recorded.
final class DaemonUnscorableTests: XCTestCase {
  func testUnscorableCandidatesAreRecordedAndASearchWithoutAFiniteScoreFails() throws {
    let dir = try scratchDirectory(self)
    let teacher = dir.appendingPathComponent("overflowing-resnet8.safetensors")
    try ResNetWeights.write(to: teacher) { name, values in
      if name == "layer3.0.conv2.weight" { values = values.map { _ in 3e38 } }
    }
    let state = dir.appendingPathComponent("state")
    let log = dir.appendingPathComponent("daemon.log")
    let first = try DaemonUnderTest(state: state, dataRoot: dir, localWorkers: 1, log: log)
    let options = [
      "--space", "resnet-cifar-depth", "--teacher", "resnet8", "--teacher-weights", teacher.path, "--batch", "16",
      "--proxy", "diswot", "--population", "4",
    ]

    // A short search, followed to its end: failed, with every candidate unscorable.
    let waited = try runCommand(
      "diswot", ["search", "start", "--daemon", first.client, "--budget", "8", "--top", "20", "--wait", "--json"] + options)
    XCTAssertEqual(waited.status, 1, waited.stderr + first.child.logText)
    XCTAssertTrue(waited.stderr.contains("failed: no candidate could be scored: all 8 were unscorable"), waited.stderr)
    let report = try XCTUnwrap(waited.json, waited.stdout)
    XCTAssertEqual(report["status"], "failed")
    XCTAssertEqual(report["evaluations"], 0)
    XCTAssertEqual(report["unscorable"].arrayValue?.count, 8)
    XCTAssertEqual(report["unscorable"][0]["reason"], "its diswot score is not finite (NaN)")
    // A null answer may be a broken worker's: each candidate was tried again before it was
    // recorded unscorable (issue 11, item 8).
    XCTAssertTrue(first.child.logText.contains("(attempt 2): its diswot score is not finite (NaN); trying again"), first.child.logText)
    let id = try XCTUnwrap(report["id"].stringValue)
    let pirate = try first.pirate()
    let status = try XCTUnwrap(ask(pirate, .searchStatus, ["id": .string(id)]))
    XCTAssertEqual(status["state"], "failed")
    XCTAssertEqual(status["unscorable"], 8)
    XCTAssertEqual(status["evaluations"], 0)
    XCTAssertEqual(status["spent"], 8)
    let best = try XCTUnwrap(ask(pirate, .searchBest, ["id": .string(id), "k": 3]))
    XCTAssertEqual(best["best"].arrayValue?.count, 0)
    XCTAssertEqual(best["unscorable"].arrayValue?.count, 3, "at most k")
    XCTAssertNotEqual(best["unscorable"][0]["worker"], .null)
    XCTAssertNotEqual(best["unscorable"][0]["arch"], .null)

    // A longer one, with the daemon killed after some unscorable candidates: restored from
    // its checkpoint and rows, it records each candidate exactly once and fails the same way.
    // (Four initialisations per candidate keep the daemon busy long enough to be killed mid-search.)
    let budget = 32
    let started = try runCommand(
      "diswot", ["search", "start", "--daemon", first.client, "--budget", "\(budget)", "--repeats", "4", "--json"] + options)
    XCTAssertEqual(started.status, 0, started.stderr)
    let second = try XCTUnwrap(started.json?["id"].stringValue)
    try waitUntil(60, "a few unscorable candidates") {
      (ask(pirate, .searchStatus, ["id": .string(second)])?["unscorable"].intValue ?? 0) >= 3
    }
    let endpoints = first.endpoints
    XCTAssertEqual(kill(first.child.pid, SIGKILL), 0)
    first.child.process.waitUntilExit()
    let restarted = try DaemonUnderTest(state: state, dataRoot: dir, localWorkers: 1, endpoints: endpoints, log: log)
    defer { restarted.child.stop() }
    try waitUntil(120, "the restored search to end") {
      ask(pirate, .searchStatus, ["id": .string(second)])?["state"] == "failed"
    }
    XCTAssertTrue(restarted.child.logText.contains("restored search \(second)"), restarted.child.logText)
    let store = try restarted.store()
    defer { store.close() }
    let rows = try store.unscorable(searchID: second)
    XCTAssertEqual(rows.count, budget, "every candidate recorded exactly once (the key is the primary key)")
    XCTAssertEqual(try store.evaluationCount(searchID: second), 0)
    XCTAssertTrue(rows.allSatisfy { $0.reason == "its diswot score is not finite (NaN)" })
    let engine = try restoredEngine(store, searchID: second)
    XCTAssertEqual(engine.unscorable.map(\.key), rows.map(\.key))
    XCTAssertEqual(engine.spent, budget)
    XCTAssertTrue(try XCTUnwrap(store.search(id: second)?.error).hasPrefix("no candidate could be scored: all \(budget) were unscorable"))
  }
}
