import DiswotJSON
import DiswotTestSupport
import DiswotWire
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Dispatch when a worker has gone without a word (issue 11: the fault suite once caught
/// the daemon spinning in its dispatch loop, not answering anyone, after a worker's kill -9).
final class DispatchTests: XCTestCase {
  /// A worker that joined and vanished is still in the daemon's table until its liveness
  /// runs out, but its socket is gone: a TASK to it cannot be sent. A search started in
  /// that window must neither freeze the daemon (before the fix, dispatch handed the same
  /// candidates back to the same worker for ever) nor lose candidates: a real worker that
  /// joins later scores them all.
  func testAWorkerThatVanishedBeforeItsFirstTaskDoesNotStopTheDaemon() throws {
    let dir = try scratchDirectory(self)
    // A long liveness window (4 × 2 s), so the vanished worker stays in the table while
    // the search starts.
    let daemon = try DaemonUnderTest(
      state: dir.appendingPathComponent("state"), dataRoot: dir, extra: ["--heartbeat-ms", "2000", "--liveness", "4"],
      log: dir.appendingPathComponent("daemon.log"))
    defer { daemon.child.stop() }
    let pirate = try daemon.pirate()
    let ghost = try ScriptedWorker(endpoint: daemon.workers, name: "ghost")
    try waitUntil(10, "the worker to join") { try ghost.idle(0.1); return ask(pirate, .workers)?["workers"].arrayValue?.count == 1 }
    ghost.close()
    usleep(300_000)  // the daemon's socket has dropped the peer; its table still lists it

    let budget = 4
    let id = try XCTUnwrap(try pirate.request(.searchStart, body: LeaseTests.searchBody(budget: budget))["id"].stringValue)
    for _ in 0..<3 {
      XCTAssertNotNil(ask(pirate, .health), "the daemon answers while a TASK cannot be sent")
      usleep(200_000)
    }
    let real = try Child("diswot-worker", LeaseTests.workerArguments(daemon, name: "real"), log: dir.appendingPathComponent("real.log"))
    defer { real.stop() }
    try waitUntil(120, "the search to finish") { ask(pirate, .searchStatus, ["id": .string(id)])?["state"] == "finished" }
    let store = try daemon.store()
    defer { store.close() }
    XCTAssertEqual(try store.evaluations(searchID: id).count, budget, "every candidate scored")
  }
}
