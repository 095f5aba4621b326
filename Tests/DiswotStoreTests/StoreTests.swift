import DiswotStore
import Foundation
import XCTest

/// The store's schema and typed API.
final class StoreTests: XCTestCase {
  func testSchemaIsCreatedOnceAndSurvivesReopening() throws {
    let (store, path) = try makeStore()
    XCTAssertEqual(Store.schemaVersion, 2)
    XCTAssertEqual(try store.database.userVersion(), 2)
    let tables = try store.database.query("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name") {
      $0.string(0) ?? ""
    }
    XCTAssertEqual(tables, ["evaluations", "jobs", "searches", "unscorable"])
    try store.insertSearch(id: "s1", specJSON: #"{"space":"nas-bench-201"}"#)
    store.database.close()

    let reopened = try Store(path: path)
    XCTAssertEqual(try reopened.database.userVersion(), 2)
    XCTAssertEqual(try reopened.search(id: "s1")?.specJSON, #"{"space":"nas-bench-201"}"#)
    try reopened.checkIntegrity()
    reopened.close()
    XCTAssertThrowsError(try reopened.search(id: "s1"), "a closed store refuses further use")
  }

  func testAFileFromANewerDiswotdIsRefused() throws {
    let (store, path) = try makeStore()
    try store.database.setUserVersion(99)
    store.database.close()
    assertStoreError(try Store(path: path), .schemaTooNew(path: path, found: 99, supported: 2))
    XCTAssertTrue("\(StoreError.schemaTooNew(path: path, found: 99, supported: 2))".contains("newer"))
  }

  /// A store written by the previous version (schema 1) gains the `unscorable` table and
  /// keeps its rows.
  func testVersionOneStoreIsMigrated() throws {
    let path = try makeScratchDirectory().appendingPathComponent("old.db").path
    let old = try Database(path: path)
    try old.migrate(Array(Store.migrations.prefix(1)))
    try old.execute("INSERT INTO searches VALUES ('s1', 1, '{}', 'running', NULL, NULL, 1)")
    old.close()
    let store = try Store(path: path)
    XCTAssertEqual(try store.database.userVersion(), 2)
    XCTAssertEqual(try store.search(id: "s1")?.state, .running)
    XCTAssertEqual(try store.unscorableCount(searchID: "s1"), 0)
  }

  /// Unscorable candidates: recorded once per key (a duplicate changes nothing), listed in
  /// recording order, counted, and deleted with their search.
  func testUnscorableRoundTrip() throws {
    let (store, _) = try makeStore()
    try store.insertSearch(id: "s1", specJSON: "{}")
    let first = UnscorableRecord(
      searchID: "s1", key: "k1", archJSON: #"{"a":1}"#, reason: "its diswot score is not finite (NaN)", worker: "w1",
      createdAt: Date(timeIntervalSince1970: 1_700_000_000.5))
    let second = UnscorableRecord(searchID: "s1", key: "k0", archJSON: "{}", reason: "too large", createdAt: Date(timeIntervalSince1970: 1_700_000_001))
    XCTAssertTrue(try store.recordUnscorable(first))
    XCTAssertTrue(try store.recordUnscorable(second))
    var again = first
    again.reason = "something else"
    XCTAssertFalse(try store.recordUnscorable(again), "one row per key")
    XCTAssertEqual(try store.unscorable(searchID: "s1"), [first, second])
    XCTAssertEqual(try store.unscorable(searchID: "s1", limit: 1), [first])
    XCTAssertEqual(try store.unscorableCount(searchID: "s1"), 2)
    XCTAssertThrowsError(try store.recordUnscorable(UnscorableRecord(searchID: "nope", key: "k", archJSON: "{}", reason: "r")))
    try store.database.execute("DELETE FROM searches WHERE id = 's1'")
    XCTAssertEqual(try store.unscorableCount(searchID: "s1"), 0)
  }

  func testSearchRoundTrip() throws {
    let (store, _) = try makeStore()
    let before = Date()
    let inserted = try store.insertSearch(specJSON: #"{"budget":100}"#, engineJSON: #"{"n":0}"#)
    XCTAssertTrue(inserted.id.hasPrefix("s-"))
    XCTAssertEqual(inserted.state, .running)
    XCTAssertGreaterThanOrEqual(inserted.createdAt.timeIntervalSince1970, before.timeIntervalSince1970 - 1e-3)
    XCTAssertEqual(try store.search(id: inserted.id), inserted)
    XCTAssertNil(try store.search(id: "s-nothere"))

    try store.saveEngine(inserted.id, engineJSON: #"{"n":5}"#)
    try store.setSearchState(inserted.id, .failed, error: "worker pool empty")
    var read = try XCTUnwrap(try store.search(id: inserted.id))
    XCTAssertEqual(read.engineJSON, #"{"n":5}"#)
    XCTAssertEqual(read.state, .failed)
    XCTAssertEqual(read.error, "worker pool empty")
    XCTAssertGreaterThanOrEqual(read.updatedAt, read.createdAt)
    XCTAssertEqual(read.specJSON, #"{"budget":100}"#)
    try store.setSearchState(inserted.id, .running)
    read = try XCTUnwrap(try store.search(id: inserted.id))
    XCTAssertNil(read.error)  // cleared

    assertStoreError(try store.setSearchState("nope", .paused), .notFound(what: "search", id: "nope"))
    assertStoreError(try store.saveEngine("nope", engineJSON: "{}"), .notFound(what: "search", id: "nope"))
    assertSQLiteError(try store.insertSearch(id: inserted.id, specJSON: "{}")) { error in
      XCTAssertTrue(error.isConstraintViolation)
      XCTAssertTrue(error.message.contains("UNIQUE"), error.message)
    }
  }

  func testSearchListsNewestFirstAndUnfinishedForRestart() throws {
    let (store, _) = try makeStore()
    for (id, state) in [("s1", SearchState.running), ("s2", .finished), ("s3", .paused), ("s4", .cancelled), ("s5", .failed)] {
      try store.insertSearch(id: id, specJSON: "{}", state: state)
    }
    XCTAssertEqual(try store.searches().map(\.id), ["s5", "s4", "s3", "s2", "s1"])
    XCTAssertEqual(try store.unfinishedSearches().map(\.id), ["s1", "s3"])
    XCTAssertEqual(SearchState.allCases.filter(\.isTerminal), [.cancelled, .finished, .failed])
  }

  func testEvaluationRoundTripInInsertionOrder() throws {
    let (store, _) = try makeStore()
    try store.insertSearch(id: "s1", specJSON: "{}")
    try store.insertSearch(id: "s2", specJSON: "{}")
    let keys = ["zeta", "alpha", "mu"]
    for key in keys { XCTAssertTrue(try store.recordEvaluation(evaluation("s1", key), engineJSON: nil)) }
    XCTAssertTrue(try store.recordEvaluation(evaluation("s2", "alpha", worker: nil), engineJSON: nil))

    XCTAssertEqual(try store.evaluations(searchID: "s1").map(\.key), keys)
    XCTAssertEqual(try store.evaluatedKeys(searchID: "s1"), keys)
    XCTAssertEqual(try store.evaluatedKeys(searchID: "s2"), ["alpha"])
    XCTAssertEqual(try store.evaluatedKeys(searchID: "none"), [])
    XCTAssertEqual(try store.evaluations(searchID: "s1")[1], evaluation("s1", "alpha"))
    XCTAssertEqual(try store.evaluation(searchID: "s2", key: "alpha"), evaluation("s2", "alpha", worker: nil))
    XCTAssertNil(try store.evaluation(searchID: "s2", key: "zeta"))
    XCTAssertEqual(try store.evaluationCount(searchID: "s1"), 3)
    XCTAssertEqual(try store.evaluationCount(searchID: "s2"), 1)
    XCTAssertEqual(try store.evaluationCount(searchID: "none"), 0)

    // The JSONValue convenience writes canonical text.
    let fromValues = EvaluationRecord(
      searchID: "s1", key: "k", arch: ["b": 2, "a": [1, 2]], scores: ["naswot": 3.5, "diswot": -1.25], params: 7,
      macs: 9, score: -1.25, seconds: 0.5)
    XCTAssertEqual(fromValues.archJSON, #"{"a":[1,2],"b":2}"#)
    XCTAssertEqual(fromValues.scoresJSON, #"{"diswot":-1.25,"naswot":3.5}"#)
  }

  func testEvaluationAndEngineCheckpointCommitTogether() throws {
    let (store, _) = try makeStore()
    try store.insertSearch(id: "s1", specJSON: "{}", engineJSON: #"{"n":0}"#)
    XCTAssertTrue(try store.recordEvaluation(evaluation("s1", "a"), engineJSON: #"{"n":1}"#))
    XCTAssertEqual(try store.search(id: "s1")?.engineJSON, #"{"n":1}"#)

    // If saving the checkpoint fails, the evaluation is not stored either.
    try store.database.execute(
      """
      CREATE TRIGGER refuse BEFORE UPDATE OF engine_json ON searches WHEN NEW.engine_json = 'refuse'
      BEGIN SELECT RAISE(ABORT, 'checkpoint refused'); END
      """)
    assertSQLiteError(try store.recordEvaluation(evaluation("s1", "b"), engineJSON: "refuse")) { error in
      XCTAssertTrue(error.message.contains("checkpoint refused"), error.message)
    }
    XCTAssertEqual(try store.evaluationCount(searchID: "s1"), 1)
    XCTAssertEqual(try store.search(id: "s1")?.engineJSON, #"{"n":1}"#)

    // Joined to a caller's transaction that fails, nothing of it remains.
    XCTAssertThrowsError(
      try store.transaction {
        XCTAssertTrue(try store.recordEvaluation(evaluation("s1", "c"), engineJSON: #"{"n":2}"#))
        try store.setSearchState("s1", .finished)
        throw Boom()
      })
    XCTAssertEqual(try store.evaluationCount(searchID: "s1"), 1)
    XCTAssertEqual(try store.search(id: "s1")?.state, .running)
    XCTAssertEqual(try store.search(id: "s1")?.engineJSON, #"{"n":1}"#)
  }

  func testADuplicateEvaluationIsIgnoredNotCountedTwice() throws {
    let (store, _) = try makeStore()
    try store.insertSearch(id: "s1", specJSON: "{}", engineJSON: #"{"n":0}"#)
    XCTAssertTrue(try store.recordEvaluation(evaluation("s1", "a", score: 0.5), engineJSON: #"{"n":1}"#))
    let before = try XCTUnwrap(try store.search(id: "s1"))
    // A late result for the same key from another (presumed dead) worker.
    XCTAssertFalse(try store.recordEvaluation(evaluation("s1", "a", score: 9, worker: "w2"), engineJSON: #"{"n":2}"#))
    XCTAssertEqual(try store.evaluationCount(searchID: "s1"), 1)
    XCTAssertEqual(try store.evaluation(searchID: "s1", key: "a")?.score, 0.5)
    XCTAssertEqual(try store.evaluation(searchID: "s1", key: "a")?.worker, "w1")
    XCTAssertEqual(try store.search(id: "s1"), before)  // checkpoint and updated_at untouched
  }

  func testConstraintsAreErrors() throws {
    let (store, _) = try makeStore()
    // An evaluation of an unknown search violates the foreign key.
    assertSQLiteError(try store.recordEvaluation(evaluation("ghost", "a"), engineJSON: #"{"n":1}"#)) { error in
      XCTAssertEqual(error.code, SQLiteError.Code.constraintForeignKey)
      XCTAssertTrue(error.message.contains("FOREIGN KEY constraint failed"), error.message)
      XCTAssertTrue(error.sql?.contains("INSERT INTO evaluations") == true)
    }
    assertSQLiteError(try store.insertJob(kind: "distill", searchID: "ghost", specJSON: "{}")) {
      XCTAssertEqual($0.code, SQLiteError.Code.constraintForeignKey)
    }
    try store.insertSearch(id: "s1", specJSON: "{}")
    // States are checked.
    assertSQLiteError(try store.database.run("UPDATE searches SET state = 'lost' WHERE id = 's1'")) {
      XCTAssertEqual($0.code, SQLiteError.Code.constraintCheck)
    }
    // STRICT tables check types.
    assertSQLiteError(
      try store.database.run(
        "INSERT INTO evaluations VALUES ('s1', 'k', '{}', '{}', 'many', 1, 0.5, NULL, 0.1, 0)")
    ) { XCTAssertEqual($0.code, SQLiteError.Code.constraintDatatype) }
    // A non-finite score never reaches the table (SQLite would store NaN as NULL).
    assertStoreError(
      try store.recordEvaluation(evaluation("s1", "nan", score: .nan), engineJSON: nil),
      .invalidArgument("score of nan is nan; it must be finite"))
    XCTAssertEqual(try store.evaluationCount(searchID: "s1"), 0)
  }

  func testBestEvaluationsAreHighestScoreFirstEarlierAmongEquals() throws {
    let (store, _) = try makeStore()
    try store.insertSearch(id: "s1", specJSON: "{}")
    try store.insertSearch(id: "s2", specJSON: "{}")
    for (key, score) in [("a", 0.5), ("b", 2.0), ("c", -1.0), ("d", 2.0), ("e", 1.0)] {
      XCTAssertTrue(try store.recordEvaluation(evaluation("s1", key, score: score), engineJSON: nil))
    }
    XCTAssertTrue(try store.recordEvaluation(evaluation("s2", "best", score: 100), engineJSON: nil))
    XCTAssertEqual(try store.bestEvaluations(searchID: "s1", limit: 3).map(\.key), ["b", "d", "e"])
    XCTAssertEqual(try store.bestEvaluations(searchID: "s1", limit: 10).map(\.key), ["b", "d", "e", "a", "c"])
    XCTAssertEqual(try store.bestEvaluations(searchID: "s1", limit: 0), [])
    XCTAssertThrowsError(try store.bestEvaluations(searchID: "s1", limit: -1))
  }

  func testJobRoundTrip() throws {
    let (store, _) = try makeStore()
    try store.insertSearch(id: "s1", specJSON: "{}")
    let job = try store.insertJob(kind: "distill", searchID: "s1", specJSON: #"{"epochs":240}"#, checkpointDir: "/state/jobs/x")
    XCTAssertTrue(job.id.hasPrefix("j-"))
    XCTAssertEqual(job.state, .queued)
    XCTAssertEqual(try store.job(id: job.id), job)
    let other = try store.insertJob(id: "j-second", kind: "distill", specJSON: "{}")
    XCTAssertNil(other.searchID)

    try store.updateJob(job.id, state: .running, progressJSON: #"{"epoch":1}"#)
    var read = try XCTUnwrap(try store.job(id: job.id))
    XCTAssertEqual(read.state, .running)
    XCTAssertEqual(read.progressJSON, #"{"epoch":1}"#)
    XCTAssertEqual(read.checkpointDir, "/state/jobs/x")  // untouched
    XCTAssertEqual(try store.jobs(state: .running).map(\.id), [job.id])
    XCTAssertEqual(try store.jobs(state: .queued).map(\.id), ["j-second"])
    XCTAssertEqual(try store.jobs().map(\.id), [job.id, "j-second"])
    XCTAssertEqual(try store.unfinishedJobs().map(\.id), [job.id, "j-second"])

    try store.updateJob(job.id, state: .finished, progressJSON: #"{"epoch":240}"#, resultJSON: #"{"top1":0.93}"#)
    try store.updateJob("j-second", state: .failed, error: "out of memory")
    read = try XCTUnwrap(try store.job(id: job.id))
    XCTAssertEqual(read.state, .finished)
    XCTAssertEqual(read.resultJSON, #"{"top1":0.93}"#)
    XCTAssertNil(read.error)
    XCTAssertEqual(try store.job(id: "j-second")?.error, "out of memory")
    XCTAssertEqual(try store.unfinishedJobs(), [])
    XCTAssertNil(try store.job(id: "j-none"))
    assertStoreError(try store.updateJob("j-none", state: .running), .notFound(what: "job", id: "j-none"))
    assertSQLiteError(try store.database.run("UPDATE jobs SET state = 'paused'")) {
      XCTAssertEqual($0.code, SQLiteError.Code.constraintCheck)
    }
  }

  func testIDsAreShortRandomAndCallerIDsAreChecked() throws {
    let ids = (0..<2000).map { _ in Store.makeID(prefix: "s") }
    XCTAssertEqual(Set(ids).count, ids.count)
    for id in ids.prefix(50) {
      XCTAssertEqual(id.count, 12)
      XCTAssertTrue(id.hasPrefix("s-"))
      XCTAssertTrue(id.dropFirst(2).allSatisfy { "0123456789abcdefghjkmnpqrstvwxyz".contains($0) }, id)
    }
    let (store, _) = try makeStore()
    try store.insertSearch(id: "my-search_1.2", specJSON: "{}")
    for bad in ["", "../etc", ".hidden", "has space", "ü", String(repeating: "a", count: 65)] {
      XCTAssertThrowsError(try store.insertSearch(id: bad, specJSON: "{}"), bad) { error in
        guard case StoreError.invalidArgument = error else { return XCTFail("\(error)") }
      }
    }
  }
}
