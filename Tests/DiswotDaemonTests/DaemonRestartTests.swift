import DiswotJSON
import DiswotSearch
import DiswotStore
import DiswotTestSupport
import DiswotWire
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// `kill -9` of the daemon itself, mid-search and mid-training, then a restart on the same
/// state directory and endpoints.
final class DaemonRestartTests: XCTestCase {
  func testDaemonKilledMidSearchAndMidTrainingResumesBoth() throws {
    let dir = try scratchDirectory(self)
    let data = dir.appendingPathComponent("cifar")
    try writeCIFARFixture(to: data, train: 320, test: 64)
    let state = dir.appendingPathComponent("state")
    let log = dir.appendingPathComponent("daemon.log")
    let first = try DaemonUnderTest(state: state, dataRoot: dir, localWorkers: 2, log: log)
    let pirate = try first.pirate()
    // A worker of its own (as on another machine): it must find the restarted daemon.
    let remote = try Child(
      "diswot-worker", ["--connect", first.workers, "--capabilities", "score", "--heartbeat-ms", "250", "--liveness", "4", "--name", "remote"],
      log: dir.appendingPathComponent("remote.log"))
    defer { remote.stop() }
    try waitUntil(20, "two local workers and the remote one") { ask(pirate, .workers)?["workers"].arrayValue?.count == 3 }

    // A client follows the search with --wait across the daemon's death and restart.
    let budget = 48
    let reportFile = dir.appendingPathComponent("report.json")
    let waiting = try Child("diswot", [
      "search", "start", "--daemon", first.client, "--space", "resnet-cifar-depth", "--teacher", "resnet20", "--batch", "32", "--proxy", "diswot",
      "--repeats", "6", "--strategy", "random", "--seed", "11", "--budget", "\(budget)", "--wait", "--json",
    ], log: dir.appendingPathComponent("client.log"), stdout: reportFile)
    try waitUntil(30, "the search to start") { ask(pirate, .searchList)?["searches"].arrayValue?.count == 1 }
    let searchID = try XCTUnwrap(ask(pirate, .searchList)?["searches"][0]["id"].stringValue)
    let epochs = 4
    let train = try runCommand("diswot", [
      "train", "start", "--daemon", first.client, "--student", "resnet20", "--data", "cifar10:\(data.path)", "--epochs", "\(epochs)",
      "--batch", "32", "--lr", "0.02", "--schedule", "cosine", "--checkpoint-every", "3", "--json",
    ])
    XCTAssertEqual(train.status, 0, train.stderr)
    let jobID = try XCTUnwrap(train.json?["id"].stringValue)

    // Kill the daemon once the job is into its second epoch (an epoch checkpoint exists)
    // and the search has results.
    try waitUntil(120, "training to reach epoch 2") {
      (ask(pirate, .trainStatus, ["id": .string(jobID)])?["progress"]["epoch"].intValue ?? 0) >= 2
    }
    XCTAssertGreaterThan(ask(pirate, .searchStatus, ["id": .string(searchID)])?["evaluations"].intValue ?? 0, 0)
    let oldWorkers = workerPIDs(pirate).filter { $0 != remote.pid }
    XCTAssertEqual(oldWorkers.count, 2)
    let endpoints = first.endpoints
    XCTAssertEqual(kill(first.child.pid, SIGKILL), 0)
    first.child.process.waitUntilExit()
    let evaluatedBeforeKill = try { () throws -> Int in
      let store = try first.store()
      defer { store.close() }
      return try store.evaluationCount(searchID: searchID)
    }()
    // Its workers notice and exit (the training one after checkpointing).
    try waitUntil(30, "the old local workers to exit") { oldWorkers.allSatisfy { !isAlive($0) } }

    let second = try DaemonUnderTest(state: state, dataRoot: dir, localWorkers: 2, endpoints: endpoints, log: log)
    defer { second.child.stop() }
    try waitUntil(180, "the search and the job to finish") {
      ask(pirate, .searchStatus, ["id": .string(searchID)])?["state"] == "finished"
        && ask(pirate, .trainStatus, ["id": .string(jobID)])?["state"] == "finished"
    }
    try waitUntil(30, "the remote worker to rejoin") {
      (ask(pirate, .workers)?["workers"].arrayValue ?? []).contains { $0["name"] == "remote" }
    }
    XCTAssertTrue(remote.isRunning)
    let text = second.child.logText
    if ProcessInfo.processInfo.environment["DISWOT_TEST_PRINT_LOGS"] != nil { print(text) }
    XCTAssertTrue(text.contains("restored search \(searchID)"), text)
    XCTAssertTrue(text.contains("restored training job \(jobID)"), text)
    XCTAssertTrue(text.contains("job \(jobID): resuming from its last checkpoint"), text)

    // The waiting client saw nothing of the restart but the pause.
    try waitUntil(60, "the waiting client to finish") { !waiting.isRunning }
    XCTAssertEqual(waiting.process.terminationStatus, 0, waiting.logText)
    if ProcessInfo.processInfo.environment["DISWOT_TEST_PRINT_LOGS"] != nil { print(waiting.logText) }
    let report = try XCTUnwrap(JSONValue.parse(Array(try Data(contentsOf: reportFile))), waiting.logText)
    XCTAssertEqual(report["id"].stringValue, searchID)
    XCTAssertEqual(report["evaluations"], .int(budget))
    XCTAssertEqual(report["status"], "finished")

    // The search: nothing lost, nothing twice.
    let store = try second.store()
    defer { store.close() }
    let rows = try store.evaluations(searchID: searchID)
    XCTAssertLessThan(evaluatedBeforeKill, budget, "the kill came mid-search")
    XCTAssertEqual(rows.count, budget)
    XCTAssertEqual(Set(rows.map(\.key)).count, budget)
    let engine = try restoredEngine(store, searchID: searchID)
    XCTAssertEqual(engine.history.count, budget)
    XCTAssertEqual(Set(engine.history.map(\.key)), Set(rows.map(\.key)))

    // The job resumed from a checkpoint (not epoch 0) and logged every epoch exactly once.
    let status = try XCTUnwrap(ask(pirate, .trainStatus, ["id": .string(jobID)]))
    XCTAssertGreaterThanOrEqual(status["result"]["resumed_from_epoch"].intValue ?? -1, 1, "\(status)")
    XCTAssertEqual(status["result"]["epochs"], .int(epochs))
    let directory = try XCTUnwrap(status["directory"].stringValue)
    let metrics = try String(contentsOfFile: directory + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
      .compactMap { JSONValue.parse(String($0))?["epoch"].intValue }
    XCTAssertEqual(metrics, Array(0..<epochs), "each epoch once in metrics.jsonl")
    XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/student.safetensors"))
  }
}
