import DiswotJSON
import DiswotStore
import DiswotTestSupport
import DiswotWire
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Leases on every task (issue 11, item 5) and RESULTs checked before they are stored
/// (item 8), against a real daemon: a worker that keeps heartbeating but never answers
/// loses its task when the lease runs out and the task is scored once elsewhere; PROGRESS
/// renews a lease; a worker answers a TASK it cannot read; a worker whose RESULTs are
/// refused is quarantined.
final class LeaseTests: XCTestCase {
  /// A small, quick search: S1 against a random ResNet-20, 4 Gaussian probe images.
  static func searchBody(budget: Int) -> [String: JSONValue] {
    [
      "scoring": [
        "space": "resnet-cifar-depth", "teacher": ["name": "resnet20"], "data": "gaussian", "batch": 4, "proxies": ["diswot"],
        "seed": 0, "repeats": 1, "initialization": "kaiming-fan-out", "force_class_gram": false,
      ],
      "search": ["strategy": "random", "population": 10, "sample": 3, "budget": .int(budget), "seed": 5, "maxAttempts": 10000],
    ]
  }

  static func workerArguments(_ daemon: DaemonUnderTest, name: String) -> [String] {
    ["--connect", daemon.workers, "--heartbeat-ms", "250", "--liveness", "4", "--capabilities", "score", "--name", name]
  }

  /// Plausible scores for every candidate of `task` (what a worker could have computed).
  static func answer(_ task: WorkerTask, score: Double = -1) -> TaskResult {
    TaskResult(taskID: task.taskID, results: task.candidates.map { CandidateResult(key: $0.key, scores: ["diswot": score], params: 1000, macs: 1000, seconds: 0.1) })
  }

  func testATaskNeverAnsweredIsTakenBackAndEachCandidateRecordedOnce() throws {
    let dir = try scratchDirectory(self)
    let daemon = try DaemonUnderTest(
      state: dir.appendingPathComponent("state"), dataRoot: dir, extra: ["--lease-floor-ms", "1000", "--task-size", "2", "--prefetch", "0"],
      log: dir.appendingPathComponent("daemon.log"))
    defer { daemon.child.stop() }
    let pirate = try daemon.pirate()
    let silent = try ScriptedWorker(endpoint: daemon.workers, name: "silent")
    defer { silent.close() }
    try waitUntil(10, "the worker to join") { try silent.idle(0.1); return ask(pirate, .workers)?["workers"].arrayValue?.count == 1 }
    let budget = 6
    let id = try XCTUnwrap(try pirate.request(.searchStart, body: Self.searchBody(budget: budget))["id"].stringValue)

    // It takes a task and, heartbeating all along, never answers: the lease runs out.
    let first = try silent.next(.task, within: 30).decode(WorkerTask.self)
    let cancel = try silent.next(.cancel, within: 30).decode(WorkerCancel.self)
    XCTAssertEqual(cancel.taskID, first.taskID)
    XCTAssertTrue(daemon.child.logText.contains("task \(first.taskID) on worker silent: no RESULT or PROGRESS within its lease"), daemon.child.logText)

    // Its answer comes late, twice; a real worker scores the rest; the silent one stays
    // silent on everything else it is sent.
    try silent.send(WorkerMessage(Self.answer(first)))
    try silent.send(WorkerMessage(Self.answer(first)))
    let real = try Child("diswot-worker", Self.workerArguments(daemon, name: "real"), log: dir.appendingPathComponent("real.log"))
    defer { real.stop() }
    try waitUntil(120, "the search to finish") {
      try silent.idle(0.2)
      return ask(pirate, .searchStatus, ["id": .string(id)])?["state"] == "finished"
    }

    let store = try daemon.store()
    defer { store.close() }
    let rows = try store.evaluations(searchID: id)
    XCTAssertEqual(rows.count, budget, "every candidate scored")
    XCTAssertEqual(Set(rows.map(\.key)).count, rows.count, "each recorded once")
    for candidate in first.candidates {
      XCTAssertEqual(rows.filter { $0.key == candidate.key }.count, 1, candidate.key)
    }
    let engine = try restoredEngine(store, searchID: id)
    XCTAssertEqual(engine.history.map(\.key), rows.map(\.key), "the engine counts exactly the stored evaluations, in order")
    XCTAssertEqual(engine.spent, budget)
    XCTAssertTrue(engine.pending.isEmpty)
  }

  func testProgressRenewsALease() throws {
    let dir = try scratchDirectory(self)
    let daemon = try DaemonUnderTest(
      state: dir.appendingPathComponent("state"), dataRoot: dir, extra: ["--lease-floor-ms", "1000", "--task-size", "1", "--prefetch", "0"],
      log: dir.appendingPathComponent("daemon.log"))
    defer { daemon.child.stop() }
    let pirate = try daemon.pirate()
    let slow = try ScriptedWorker(endpoint: daemon.workers, name: "slow")
    defer { slow.close() }
    try waitUntil(10, "the worker to join") { try slow.idle(0.1); return ask(pirate, .workers)?["workers"].arrayValue?.count == 1 }
    let id = try XCTUnwrap(try pirate.request(.searchStart, body: Self.searchBody(budget: 1))["id"].stringValue)
    let task = try slow.next(.task, within: 30).decode(WorkerTask.self)
    // Longer than any lease this task can have (1 s + its cost, under 5 s here), with
    // PROGRESS every 300 ms.
    let start = Date()
    while Date().timeIntervalSince(start) < 8 {
      try slow.send(WorkerMessage(TaskProgress(taskID: task.taskID, stage: "scoring", done: 0, total: 1)))
      try slow.idle(0.3)
    }
    XCTAssertFalse(slow.backlog.contains { $0.command == .cancel }, "a task making progress is not taken back")
    XCTAssertFalse(daemon.child.logText.contains("within its lease"), daemon.child.logText)
    try slow.send(WorkerMessage(Self.answer(task)))
    try waitUntil(30, "the search to finish") { try slow.idle(0.1); return ask(pirate, .searchStatus, ["id": .string(id)])?["state"] == "finished" }
    XCTAssertEqual(ask(pirate, .searchBest, ["id": .string(id)])?["best"][0]["worker"], "slow")
  }

  func testAWorkerAnswersATaskItCannotReadWithAnErrorResult() throws {
    let dir = try scratchDirectory(self)
    let context = try ZMQContext()
    let router = try ZMQSocket(context, .router)
    defer { router.close() }
    try router.set(.linger(milliseconds: 0))
    try router.bind("tcp://127.0.0.1:*")
    let endpoint = try router.lastEndpoint()
    let worker = try Child(
      "diswot-worker", ["--connect", endpoint, "--heartbeat-ms", "250", "--liveness", "4", "--capabilities", "score", "--name", "w"],
      log: dir.appendingPathComponent("worker.log"))
    defer { worker.stop() }

    /// The next message of `command` from the worker, answering its heartbeats meanwhile.
    func next(_ command: WorkerCommand) throws -> (identity: [UInt8], message: WorkerMessage) {
      let end = Date().addingTimeInterval(30)
      while Date() < end {
        guard let frames = try router.receive(timeoutMilliseconds: 100), frames.count == 4 else { continue }
        let message = try WireMessage.decodeWorkerMessage(frames: Array(frames.dropFirst()))
        if message.command == .heartbeat { try router.send(frames: [frames[0]] + WireMessage.encode(.heartbeat)) }
        if message.command == command { return (frames[0], message) }
      }
      throw DaemonTestError("no \(command.rawValue) from the worker:\n\(worker.logText)")
    }
    let (identity, _) = try next(.ready)
    // A TASK whose candidate has no genotype object: unreadable, but its task_id is not.
    let body: JSONValue = ["task_id": "t-unreadable", "search_id": "s-1", "scoring": [:], "candidates": [["key": "k", "genotype": 5]]]
    try router.send(frames: [identity, WireProtocol.tagFrame, Array("TASK".utf8), Array(body.compactText.utf8)])
    let result = try next(.result).message.decode(TaskResult.self)
    XCTAssertEqual(result.taskID, "t-unreadable")
    XCTAssertEqual(result.error?.code, .invalidArgument)
    XCTAssertTrue(result.error?.message.contains("genotype") == true, "\(String(describing: result.error))")
    XCTAssertTrue(worker.isRunning)
  }

  func testAWorkerWhoseResultsAreRefusedIsQuarantined() throws {
    let dir = try scratchDirectory(self)
    let daemon = try DaemonUnderTest(
      state: dir.appendingPathComponent("state"), dataRoot: dir, extra: ["--task-size", "1", "--prefetch", "0"],
      log: dir.appendingPathComponent("daemon.log"))
    defer { daemon.child.stop() }
    let pirate = try daemon.pirate()
    let liar = try ScriptedWorker(endpoint: daemon.workers, name: "liar")
    defer { liar.close() }
    try waitUntil(10, "the worker to join") { try liar.idle(0.1); return ask(pirate, .workers)?["workers"].arrayValue?.count == 1 }
    let budget = 4
    let id = try XCTUnwrap(try pirate.request(.searchStart, body: Self.searchBody(budget: budget))["id"].stringValue)

    // Three RESULTs nobody should believe.
    let lies: [(WorkerTask) -> TaskResult] = [
      { t in TaskResult(taskID: t.taskID, results: t.candidates.map { CandidateResult(key: $0.key, scores: ["diswot": -1], params: -5, macs: 1, seconds: 0.1) }) },
      { t in TaskResult(taskID: t.taskID, results: t.candidates.map { CandidateResult(key: $0.key, scores: ["diswot": -1], params: 1, macs: 1, seconds: -3) }) },
      { t in TaskResult(taskID: t.taskID, results: Self.answer(t).results + [CandidateResult(key: "depths=1,1,1;made-up", scores: ["diswot": 9], params: 1, macs: 1, seconds: 0.1)]) },
    ]
    for lie in lies {
      let task = try liar.next(.task, within: 30).decode(WorkerTask.self)
      try liar.send(WorkerMessage(lie(task)))
    }
    try waitUntil(10, "the quarantine") {
      try liar.idle(0.1)
      return ask(pirate, .workers)?["workers"][0]["quarantined"].stringValue != nil
    }
    let log = daemon.child.logText
    XCTAssertTrue(log.contains("refused a RESULT from worker liar for task") && log.contains("params must be an integer ≥ 0, got -5"), log)
    XCTAssertTrue(log.contains("seconds must be a finite number ≥ 0, got -3.0"), log)
    XCTAssertTrue(log.contains("depths=1,1,1;made-up is not a candidate of task"), log)
    XCTAssertTrue(log.contains("worker liar quarantined after 3 strikes"), log)

    // No more work for it; a real worker does the search.
    let real = try Child("diswot-worker", Self.workerArguments(daemon, name: "real"), log: dir.appendingPathComponent("real.log"))
    defer { real.stop() }
    try waitUntil(120, "the search to finish") {
      try liar.idle(0.2)
      return ask(pirate, .searchStatus, ["id": .string(id)])?["state"] == "finished"
    }
    XCTAssertFalse(liar.backlog.contains { $0.command == .task }, "a quarantined worker gets no TASK")
    let store = try daemon.store()
    defer { store.close() }
    let rows = try store.evaluations(searchID: id)
    XCTAssertEqual(rows.count, budget)
    XCTAssertTrue(rows.allSatisfy { $0.worker == "real#1" && $0.params > 0 && $0.seconds >= 0 }, "\(rows.map { ($0.worker ?? "", $0.params, $0.seconds) })")
  }
}
