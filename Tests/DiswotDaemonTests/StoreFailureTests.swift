import DiswotJSON
import DiswotStore
import DiswotTestSupport
import DiswotWire
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Store errors are not swallowed (issue 11, item 6). A real SQLite file made to fail: the
/// test takes an exclusive lock on the daemon's database from another connection, so the
/// daemon's writes fail (SQLITE_BUSY after its 5 s busy timeout). A write for a client
/// request fails that request and changes nothing; a write the daemon makes on its own
/// (here: a worker's DONE) stops the daemon with status 1, so memory never runs ahead of
/// the store; a restart resumes from what the store holds.
final class StoreFailureTests: XCTestCase {
  /// Holds `BEGIN EXCLUSIVE` on the daemon's database until `release()`.
  final class ExclusiveLock {
    let database: Database
    init(_ daemon: DaemonUnderTest) throws {
      database = try Database(path: daemon.stateDirectory.appendingPathComponent("diswot.sqlite").path)
      try database.execute("BEGIN EXCLUSIVE")
    }
    func release() throws {
      try database.execute("ROLLBACK")
      database.close()
    }
  }

  func testAClientRequestWhoseWriteFailsIsRefusedAndChangesNothing() throws {
    let dir = try scratchDirectory(self)
    let daemon = try DaemonUnderTest(state: dir.appendingPathComponent("state"), dataRoot: dir, log: dir.appendingPathComponent("daemon.log"))
    defer { daemon.child.stop() }
    let pirate = try daemon.pirate()
    let id = try XCTUnwrap(try pirate.request(.searchStart, body: DaemonRobustnessTests.searchBody)["id"].stringValue)

    let lock = try ExclusiveLock(daemon)
    let reply = try rawRequest(daemon.client, "search.cancel", body: Array(#"{"id":"\#(id)"}"#.utf8), timeoutMilliseconds: 20_000)
    try lock.release()
    guard case .error(let error) = reply.body else { return XCTFail("the cancel was acknowledged though it was not saved: \(reply.body)") }
    XCTAssertEqual(error.code, .internal)
    XCTAssertTrue(error.message.contains("locked"), error.message)
    XCTAssertTrue(daemon.child.isRunning)
    XCTAssertEqual(ask(pirate, .searchStatus, ["id": .string(id)])?["state"], "running", "memory agrees with the store")

    // Once the store takes writes again, the same request goes through.
    XCTAssertEqual(try pirate.request(.searchCancel, body: ["id": .string(id)])["state"], "cancelled")
    let store = try daemon.store()
    defer { store.close() }
    XCTAssertEqual(try store.search(id: id)?.state, .cancelled)
  }

  func testAWriteTheDaemonMakesOnItsOwnThatFailsStopsIt() throws {
    let dir = try scratchDirectory(self)
    try writeCIFARFixture(to: dir.appendingPathComponent("cifar"), train: 20, test: 10)
    let state = dir.appendingPathComponent("state")
    let daemon = try DaemonUnderTest(state: state, dataRoot: dir, log: dir.appendingPathComponent("daemon.log"))
    defer { daemon.child.stop() }
    let pirate = try daemon.pirate()
    let worker = try ScriptedWorker(endpoint: daemon.workers, name: "trainer", capabilities: ["train"])
    defer { worker.close() }
    let spec = RequestCheckTests.trainSpec.merging(["data": .string("cifar10:\(dir.path)/cifar")]) { _, b in b }
    let job = try XCTUnwrap(try pirate.request(.trainStart, body: ["spec": .object(spec)])["id"].stringValue)
    let train = try worker.next(.train, within: 20).decode(TrainJob.self)
    XCTAssertEqual(train.jobID, job)

    let lock = try ExclusiveLock(daemon)
    try worker.send(WorkerMessage(JobDone(jobID: job, outcome: .failure(WireError(.invalidArgument, "the worker gave up")))))
    try waitUntil(30, "the daemon to stop") { !daemon.child.isRunning }
    try lock.release()
    XCTAssertEqual(daemon.child.process.terminationStatus, 1)
    let log = daemon.child.logText
    XCTAssertTrue(log.contains("cannot save how job \(job) ended") && log.contains("locked"), log)

    // The store never recorded the failure, so a restarted daemon queues the job again.
    let store = try Store(path: state.appendingPathComponent("diswot.sqlite").path)
    XCTAssertEqual(try store.job(id: job)?.state, .running)
    store.close()
    let restarted = try DaemonUnderTest(state: state, dataRoot: dir, log: dir.appendingPathComponent("restarted.log"))
    defer { restarted.child.stop() }
    XCTAssertEqual(ask(try restarted.pirate(), .trainStatus, ["id": .string(job)])?["state"], "queued")
  }
}
