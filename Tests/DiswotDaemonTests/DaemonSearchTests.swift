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

/// Searches through a real diswotd with real diswot-worker processes on loopback.
final class DaemonSearchTests: XCTestCase {
  /// Random search: its proposals do not depend on the scores, so the daemon (which
  /// records scores in whatever order its workers return them) evaluates exactly the
  /// architectures the in-process search does, and must find the same best with the same
  /// scores. (Aging evolution mutates the best so far, so with several workers its path
  /// legitimately differs from the sequential one.)
  func testDaemonSearchMatchesLocalSearch() throws {
    let dir = try scratchDirectory(self)
    let common = [
      "--space", "resnet-cifar-depth", "--teacher", "resnet20", "--batch", "16", "--strategy", "evolution", "--population", "8", "--tournament", "3", "--seed", "7",
      "--budget", "40", "--top", "40", "--reference-size", "8",
    ]
    let jsonl = dir.appendingPathComponent("local.jsonl").path
    let local = try runCommand("diswot", ["search", "--local"] + common + ["--threads", "1", "--json", "--jsonl", jsonl])
    XCTAssertEqual(local.status, 0, local.stderr)

    let daemon = try DaemonUnderTest(
      state: dir.appendingPathComponent("state"), dataRoot: dir, localWorkers: 2, log: dir.appendingPathComponent("daemon.log"))
    defer { daemon.child.stop() }
    let remote = try runCommand("diswot", ["search", "start", "--daemon", daemon.client] + common + ["--wait", "--json"])
    XCTAssertEqual(remote.status, 0, remote.stderr + daemon.child.logText)
    let localReport = try XCTUnwrap(local.json), remoteReport = try XCTUnwrap(remote.json, remote.stdout)
    XCTAssertEqual(remoteReport["best"][0]["key"], localReport["best"][0]["key"], "same best architecture")
    XCTAssertEqual(remoteReport["evaluations"], 40)
    XCTAssertEqual(remoteReport["status"], "finished")
    XCTAssertEqual(remoteReport["best"].arrayValue?.count, 40)
    XCTAssertFalse((remoteReport["pareto"].arrayValue ?? []).isEmpty)

    // Every architecture's score equals the in-process one.
    let id = try XCTUnwrap(remoteReport["id"].stringValue)
    let best = try runCommand("diswot", ["search", "best", id, "-k", "100", "--json", "--daemon", daemon.client])
    XCTAssertEqual(best.status, 0, best.stderr)
    var remoteScores: [String: Double] = [:]
    var remoteOrder: [(index: Int, key: String)] = []
    var workersUsed: Set<String> = []
    for item in try XCTUnwrap(best.json)["best"].arrayValue ?? [] {
      remoteScores[item["key"].stringValue ?? ""] = item["score"].doubleValue
      remoteOrder.append((item["index"].intValue ?? 0, item["key"].stringValue ?? ""))
      workersUsed.insert(item["worker"].stringValue ?? "")
    }
    var localScores: [String: Double] = [:]
    var localOrder: [String] = []
    for line in try String(contentsOfFile: jsonl, encoding: .utf8).split(separator: "\n") {
      let item = try XCTUnwrap(JSONValue.parse(String(line)))
      localScores[item["key"].stringValue ?? ""] = item["scores"]["ensemble"].doubleValue
      localOrder.append(item["key"].stringValue ?? "")
    }
    // Aging evolution decides every child from the results before it: the same history, in
    // the same order, from two workers racing as from one process (issue 11, item 9).
    XCTAssertEqual(remoteOrder.sorted { $0.index < $1.index }.map(\.key), localOrder, "the same search, step for step")
    for (key, expected) in localScores {
      let actual = try XCTUnwrap(remoteScores[key], key)
      XCTAssertLessThanOrEqual(abs(actual - expected), 1e-6 * abs(expected) + 1e-12, "\(key): daemon \(actual) vs local \(expected)")
    }
    XCTAssertEqual(workersUsed.count, 2, "both workers scored candidates: \(workersUsed)")

    // A local worker that dies is started again.
    let pirate = try daemon.pirate()
    let before = workerPIDs(pirate)
    XCTAssertEqual(before.count, 2)
    XCTAssertEqual(kill(before[0], SIGKILL), 0)
    try waitUntil(30, "a replacement local worker") {
      let now = workerPIDs(pirate)
      return now.count == 2 && !now.contains(before[0])
    }
    XCTAssertTrue(daemon.child.logText.contains("local worker \(before[0]) was killed by signal 9; restarting"), daemon.child.logText)

    // A clean shutdown: SIGTERM stops the daemon and its local workers.
    let pids = workerPIDs(pirate)
    XCTAssertEqual(pids.count, 2)
    XCTAssertTrue(daemon.child.stop(SIGTERM, seconds: 15), "diswotd did not exit on SIGTERM")
    XCTAssertEqual(daemon.child.process.terminationStatus, 0, daemon.child.logText)
    try waitUntil(10, "local workers to exit") { pids.allSatisfy { !isAlive($0) } }
  }

  /// `kill -9` of one worker and a freeze (SIGSTOP, longer than the liveness window) of
  /// another, both holding tasks: their tasks go back to the queue; the frozen worker, once
  /// thawed, rejoins as a new worker (anything it still sends for its old tasks counts only
  /// for candidates nobody has scored); the search completes, and every candidate is in the
  /// store exactly once, as the engine counts.
  func testWorkersKilledOrFrozenMidSearchLoseAndDuplicateNothing() throws {
    let dir = try scratchDirectory(self)
    let daemon = try DaemonUnderTest(
      state: dir.appendingPathComponent("state"), dataRoot: dir, log: dir.appendingPathComponent("daemon.log"))
    defer { daemon.child.stop() }
    let workerArgs = ["--connect", daemon.workers, "--heartbeat-ms", "250", "--liveness", "4", "--capabilities", "score"]
    let workers = try (1...3).map { i in
      try Child("diswot-worker", workerArgs + ["--name", "w\(i)"], log: dir.appendingPathComponent("w\(i).log"))
    }
    defer { for w in workers { kill(w.pid, SIGCONT); w.stop() } }
    let pirate = try daemon.pirate()
    try waitUntil(20, "three workers") { ask(pirate, .workers)?["workers"].arrayValue?.count == 3 }

    let budget = 48
    let options = [
      "--space", "resnet-cifar-depth", "--teacher", "resnet20", "--batch", "32", "--proxy", "diswot",
      "--repeats", "6", "--strategy", "random", "--seed", "3", "--budget", "\(budget)",
    ]
    let start = try runCommand("diswot", ["search", "start", "--daemon", daemon.client, "--json"] + options)
    XCTAssertEqual(start.status, 0, start.stderr)
    let id = try XCTUnwrap(start.json?["id"].stringValue)
    try waitUntil(90, "a few evaluations") { (ask(pirate, .searchStatus, ["id": .string(id)])?["evaluations"].intValue ?? 0) >= 4 }
    try waitUntil(30, "w1 and w2 busy") {
      let busy = (ask(pirate, .workers)?["workers"].arrayValue ?? []).filter { $0["busy"] == .bool(true) }.compactMap { $0["name"].stringValue }
      return busy.contains("w1") && busy.contains("w2")
    }
    XCTAssertEqual(kill(workers[0].pid, SIGKILL), 0)
    workers[0].process.waitUntilExit()
    XCTAssertEqual(kill(workers[1].pid, SIGSTOP), 0)
    try waitUntil(30, "the frozen worker to be declared dead") { daemon.child.logText.contains("worker w2#1 left (silent") }
    XCTAssertEqual(kill(workers[1].pid, SIGCONT), 0)
    try waitUntil(20, "the frozen worker to come back") { daemon.child.logText.contains("worker w2#2 joined") }

    try waitUntil(120, "the search to finish") { ask(pirate, .searchStatus, ["id": .string(id)])?["state"] == "finished" }
    let log = daemon.child.logText
    XCTAssertTrue(log.contains("worker w1#1 left ("), log)

    let store = try daemon.store()
    defer { store.close() }
    let rows = try store.evaluations(searchID: id)
    XCTAssertEqual(rows.count, budget, "every candidate scored")
    for name in ["w1#1", "w2#1"] {
      let line = log.split(separator: "\n").first { $0.contains("worker \(name) left") }.map(String.init) ?? ""
      XCTAssertTrue(line.contains("re-queueing") && !line.contains("re-queueing 0 tasks"), "\(name)'s tasks went back to the queue: \(line)")
    }
    // The candidates taken back and scored elsewhere changed nothing: the history is the
    // one a single process computes, in order.
    let jsonl = dir.appendingPathComponent("local.jsonl").path
    let local = try runCommand("diswot", ["search", "--local", "--threads", "1", "--jsonl", jsonl, "--json"] + options)
    XCTAssertEqual(local.status, 0, local.stderr)
    let localKeys = try String(contentsOfFile: jsonl, encoding: .utf8).split(separator: "\n").compactMap {
      JSONValue.parse(String($0))?["key"].stringValue
    }
    XCTAssertEqual(rows.map(\.key), localKeys, "the same search as search --local, step for step")
    let engine = try restoredEngine(store, searchID: id)
    XCTAssertEqual(engine.history.count, rows.count, "the engine counts exactly the stored evaluations")
    XCTAssertEqual(Set(engine.history.map(\.key)), Set(rows.map(\.key)))
    XCTAssertTrue(engine.pending.isEmpty)
    XCTAssertEqual(engine.spent, budget)
    XCTAssertEqual(ask(pirate, .searchStatus, ["id": .string(id)])?["evaluations"], .int(budget))
  }
}
