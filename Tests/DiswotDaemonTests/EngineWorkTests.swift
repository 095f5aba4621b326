import DiswotJSON
import DiswotModels
import DiswotSearch
import DiswotTestSupport
import DiswotWire
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The engine's work per turn of the daemon's loop is bounded (issue 11, item 8): a valid
/// `search.start` whose constraints almost nothing meets, with `maxAttempts` 3·10⁶, used to
/// freeze the daemon for minutes (no reply to anyone, SIGTERM ignored, and the same again
/// after a restart). Now the search goes on in slices between the loop's other work, and
/// one that cannot find unseen feasible candidates ends `exhausted` or `infeasible`.
final class EngineWorkTests: XCTestCase {
  static func body(space: String, budget: Int, maxAttempts: Int, maxMACs: Int, strategy: String = "random") -> [String: JSONValue] {
    var body = LeaseTests.searchBody(budget: budget)
    body["scoring"] = .object((body["scoring"]?.objectValue ?? [:]).merging(["space": .string(space)]) { _, b in b })
    body["search"] = .object((body["search"]?.objectValue ?? [:]).merging(["maxAttempts": .int(maxAttempts), "strategy": .string(strategy)]) { _, b in b })
    body["constraints"] = ["max_macs": .int(maxMACs)]
    return body
  }

  /// The slowest of `count` `health` round trips, in seconds.
  static func slowestHealth(_ pirate: LazyPirateClient, count: Int, worker: ScriptedWorker) throws -> Double {
    var slowest = 0.0
    for _ in 0..<count {
      let start = Date()
      XCTAssertEqual(try pirate.request(.health)["status"], "ok")
      slowest = max(slowest, Date().timeIntervalSince(start))
      try worker.idle(0.1)
    }
    return slowest
  }

  func testAHopelessSearchNeitherFreezesTheDaemonNorSurvivesAsAHang() throws {
    let dir = try scratchDirectory(self)
    let state = dir.appendingPathComponent("state")
    let daemon = try DaemonUnderTest(state: state, dataRoot: dir, log: dir.appendingPathComponent("daemon.log"))
    defer { daemon.child.stop() }
    let pirate = try daemon.pirate()
    let worker = try ScriptedWorker(endpoint: daemon.workers, name: "w")
    defer { worker.close() }
    try waitUntil(10, "the worker to join") { try worker.idle(0.1); return ask(pirate, .workers)?["workers"].arrayValue?.count == 1 }

    // resnet-cifar is too large to enumerate, and no architecture has a single MAC.
    let endless = try XCTUnwrap(try pirate.request(.searchStart, body: Self.body(space: "resnet-cifar", budget: 10, maxAttempts: 3_000_000, maxMACs: 1))["id"].stringValue)
    let hopeless = try XCTUnwrap(try pirate.request(.searchStart, body: Self.body(space: "resnet-cifar", budget: 10, maxAttempts: 5_000, maxMACs: 1))["id"].stringValue)
    XCTAssertLessThan(try Self.slowestHealth(pirate, count: 10, worker: worker), 1, "the daemon answers while the engines work")
    try waitUntil(120, "the 5000-attempt search to end") {
      try worker.idle(0.1)
      return ask(pirate, .searchStatus, ["id": .string(hopeless)])?["state"] == "failed"
    }
    let ended = try pirate.request(.searchStatus, body: ["id": .string(hopeless)])
    XCTAssertEqual(ended["engine_status"], "infeasible: no architecture meeting the constraints in 5000 tries")
    XCTAssertEqual(ended["error"], "the constraints cannot be met: no architecture meeting the constraints in 5000 tries")
    XCTAssertFalse(worker.backlog.contains { $0.command == .task }, "nothing infeasible was sent")
    let still = try pirate.request(.searchStatus, body: ["id": .string(endless)])
    XCTAssertEqual(still["state"], "running")
    XCTAssertEqual(still["engine_status"], "running")

    // SIGTERM is heard at once, however much the engine has left to do.
    let stopping = Date()
    XCTAssertTrue(daemon.child.stop(SIGTERM, seconds: 10), "diswotd ignored SIGTERM")
    XCTAssertLessThan(Date().timeIntervalSince(stopping), 5)
    XCTAssertEqual(daemon.child.process.terminationStatus, 0)

    // Restarted, it restores the search and stays responsive.
    let restarted = try DaemonUnderTest(state: state, dataRoot: dir, log: dir.appendingPathComponent("restarted.log"))
    defer { restarted.child.stop() }
    let again = try restarted.pirate()
    let second = try ScriptedWorker(endpoint: restarted.workers, name: "w2")
    defer { second.close() }
    try waitUntil(10, "the worker to join") { try second.idle(0.1); return ask(again, .workers)?["workers"].arrayValue?.count == 1 }
    XCTAssertEqual(ask(again, .searchStatus, ["id": .string(endless)])?["state"], "running")
    XCTAssertLessThan(try Self.slowestHealth(again, count: 10, worker: second), 1)
    XCTAssertTrue(restarted.child.stop(SIGTERM, seconds: 10))
  }

  /// The case as reported: constraints admitting a handful of S1's 64 architectures,
  /// `maxAttempts` 3·10⁶, a budget larger than what is feasible: the search scores what is
  /// feasible and ends `exhausted`.
  func testASearchOutOfFeasibleCandidatesEndsExhausted() throws {
    let dir = try scratchDirectory(self)
    let daemon = try DaemonUnderTest(state: dir.appendingPathComponent("state"), dataRoot: dir, log: dir.appendingPathComponent("daemon.log"))
    defer { daemon.child.stop() }
    let pirate = try daemon.pirate()
    let worker = try ScriptedWorker(endpoint: daemon.workers, name: "w")
    defer { worker.close() }
    try waitUntil(10, "the worker to join") { try worker.idle(0.1); return ask(pirate, .workers)?["workers"].arrayValue?.count == 1 }

    let s1 = try SearchSpace.load(path: SearchSpaceLocator.resolve("resnet-cifar-depth"))
    let costs = CostModel(space: s1, constraints: Constraints())
    let macs = try s1.enumerate().compactMap { costs.costs(of: $0)?.macs }.sorted()
    let limit = macs[1]
    let feasible = macs.filter { $0 <= limit }.count
    XCTAssertLessThan(feasible, 8)
    for strategy in ["evolution", "random"] {
      let id = try XCTUnwrap(try pirate.request(
        .searchStart, body: Self.body(space: "resnet-cifar-depth", budget: 16, maxAttempts: 3_000_000, maxMACs: limit, strategy: strategy))["id"].stringValue)
      try waitUntil(60, "the search to end") {
        while let task = try? worker.next(.task, within: 0.1) {
          try worker.send(WorkerMessage(LeaseTests.answer(try task.decode(WorkerTask.self))))
        }
        return ask(pirate, .searchStatus, ["id": .string(id)])?["state"] == "finished"
      }
      let status = try pirate.request(.searchStatus, body: ["id": .string(id)])
      XCTAssertEqual(status["evaluations"], .int(feasible), strategy)
      XCTAssertEqual(status["engine_status"], "exhausted", strategy)
    }
  }
}
