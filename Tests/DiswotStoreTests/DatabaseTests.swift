import DiswotStore
import Foundation
import XCTest

/// The SQLite wrapper: pragmas, typed binds and reads, errors, transactions, migrations,
/// damaged files and a second connection.
final class DatabaseTests: XCTestCase {
  private func makeDatabase() throws -> Database {
    try Database(path: try makeScratchDirectory().appendingPathComponent("db.sqlite").path)
  }

  func testOpenAppliesWALFullSynchronousAndForeignKeys() throws {
    let db = try makeDatabase()
    XCTAssertEqual(try db.pragma("journal_mode"), .text("wal"))
    XCTAssertEqual(try db.pragma("synchronous"), .integer(2))  // FULL
    XCTAssertEqual(try db.pragma("foreign_keys"), .integer(1))
    XCTAssertEqual(try db.pragma("busy_timeout"), .integer(5000))
    XCTAssertFalse(Database.sqliteVersion.isEmpty)
  }

  func testTypedBindsAndReadsRoundTrip() throws {
    let db = try makeDatabase()
    try db.execute("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n ANY)")
    let text = "héllo\u{0}wörld ✓"
    let rows: [[SQLValue]] = [
      [.integer(.min), .real(-0.125), SQLValue(text), .blob(Data([0, 1, 2, 255])), nil],
      [.integer(.max), .real(1e300), "", .blob(Data()), SQLValue(Int?.none)],
      [SQLValue(42 as Int), SQLValue(Double?.none), SQLValue(String?.none), SQLValue(Data?.none), 7],
    ]
    for row in rows { XCTAssertEqual(try db.run("INSERT INTO t VALUES (?, ?, ?, ?, ?)", row), 1) }
    XCTAssertEqual(db.lastInsertRowID, 3)

    let read = try db.query("SELECT i, r, s, b, n FROM t ORDER BY rowid") { row in
      (0..<row.columnCount).map { row.value($0) }
    }
    XCTAssertEqual(read, rows)
    let typed = try db.query("SELECT i, r, s, b, n FROM t ORDER BY rowid") { row in
      (row.int64(0), row.double(1), row.string(2), row.blob(3), row.isNull(4), row.columnName(2))
    }
    XCTAssertEqual(typed[0].0, .min)
    XCTAssertEqual(typed[0].1, -0.125)
    XCTAssertEqual(typed[0].2, text)
    XCTAssertEqual(typed[0].3, Data([0, 1, 2, 255]))
    XCTAssertTrue(typed[0].4)
    XCTAssertEqual(typed[0].5, "s")
    XCTAssertEqual(typed[1].2, "")  // empty, not NULL
    XCTAssertEqual(typed[1].3, Data())
    XCTAssertNil(typed[2].2)
    XCTAssertNil(typed[2].3)
    XCTAssertEqual(try db.first("SELECT count(*) FROM t WHERE s IS NULL") { $0.int(0) }, 1)
  }

  func testPreparedStatementRunsAgainWithNewBindings() throws {
    let db = try makeDatabase()
    try db.execute("CREATE TABLE t (x INTEGER)")
    let insert = try db.prepare("INSERT INTO t VALUES (?)")
    for x in 1...5 {
      try insert.bind([SQLValue(x)])
      XCTAssertFalse(try insert.step())
    }
    XCTAssertEqual(try db.first("SELECT sum(x) FROM t") { $0.int(0) }, 15)
  }

  func testErrorsCarrySQLitesMessageAndTheSQL() throws {
    let db = try makeDatabase()
    assertSQLiteError(try db.prepare("SELEC 1")) { error in
      XCTAssertEqual(error.sql, "SELEC 1")
      XCTAssertEqual(error.primaryCode, SQLiteError.Code.error)
      XCTAssertTrue(error.message.contains("syntax error"), error.message)
      XCTAssertTrue(error.description.contains(db.path), error.description)
      XCTAssertTrue(error.description.contains("in: SELEC 1"), error.description)
    }
    assertSQLiteError(try db.run("SELECT * FROM missing_table")) { error in
      XCTAssertTrue(error.message.contains("no such table: missing_table"), error.message)
    }
    assertSQLiteError(try db.prepare("SELECT 1; SELECT 2")) { error in
      XCTAssertTrue(error.message.contains("more than one statement"), error.message)
    }
    XCTAssertEqual(try db.first("SELECT 41 + 1; -- the answer\n ;  ") { $0.int(0) }, 42)
    assertSQLiteError(try db.run("SELECT ?, ?", [1])) { error in
      XCTAssertTrue(error.message.contains("1 values for 2 parameters"), error.message)
    }
    db.close()
    assertSQLiteError(try db.run("SELECT 1")) { error in
      XCTAssertTrue(error.message.contains("closed"), error.message)
    }
  }

  func testTransactionCommitsOrRollsBackEverything() throws {
    let db = try makeDatabase()
    try db.execute("CREATE TABLE t (x INTEGER)")
    XCTAssertEqual(try db.transaction { () throws -> Int in
      try db.run("INSERT INTO t VALUES (1)")
      XCTAssertTrue(db.isInTransaction)
      return 7
    }, 7)
    XCTAssertThrowsError(
      try db.transaction {
        try db.run("INSERT INTO t VALUES (2)")
        try db.run("INSERT INTO t VALUES (3)")
        throw Boom()
      }
    ) { XCTAssertEqual($0 as? Boom, Boom()) }  // the body's error, unchanged
    XCTAssertFalse(db.isInTransaction)
    XCTAssertEqual(try db.query("SELECT x FROM t") { $0.int(0) }, [1])
  }

  func testNestedTransactionIsASavepoint() throws {
    let db = try makeDatabase()
    try db.execute("CREATE TABLE t (x INTEGER)")
    try db.transaction {
      try db.run("INSERT INTO t VALUES (1)")
      XCTAssertThrowsError(
        try db.transaction {
          try db.run("INSERT INTO t VALUES (2)")
          throw Boom()
        })
      try db.transaction { try db.run("INSERT INTO t VALUES (3)") }
    }
    XCTAssertEqual(try db.query("SELECT x FROM t ORDER BY x") { $0.int(0) }, [1, 3])
    // An outer failure undoes the inner, released savepoint too.
    XCTAssertThrowsError(
      try db.transaction {
        try db.transaction { try db.run("INSERT INTO t VALUES (4)") }
        throw Boom()
      })
    XCTAssertEqual(try db.query("SELECT x FROM t ORDER BY x") { $0.int(0) }, [1, 3])
  }

  func testMigrationsRunInOrderOnceAndAtomically() throws {
    let db = try makeDatabase()
    let v1 = Migration(version: 1, sql: "CREATE TABLE a (x INTEGER)")
    let v2 = Migration(version: 2, sql: "ALTER TABLE a ADD COLUMN y TEXT; CREATE TABLE b (z INTEGER)")
    XCTAssertEqual(try db.userVersion(), 0)
    XCTAssert(try db.migrate([v1]) == (0, 1))
    XCTAssert(try db.migrate([v1]) == (1, 1))  // nothing to do
    XCTAssert(try db.migrate([v1, v2]) == (1, 2))
    try db.run("INSERT INTO a (x, y) VALUES (1, 'y')")
    XCTAssertEqual(try db.userVersion(), 2)

    // A step that fails half-way leaves the previous version, and none of its changes.
    let v3 = Migration(version: 3, sql: "CREATE TABLE c (x INTEGER); INSERT INTO nowhere VALUES (1)")
    assertSQLiteError(try db.migrate([v1, v2, v3]))
    XCTAssertEqual(try db.userVersion(), 2)
    XCTAssertEqual(try db.first("SELECT count(*) FROM sqlite_schema WHERE name = 'c'") { $0.int(0) }, 0)

    // Code that knows fewer versions than the file refuses to touch it.
    assertStoreError(try db.migrate([v1]), .schemaTooNew(path: db.path, found: 2, supported: 1))
    // Steps must be numbered 1, 2, … in order.
    XCTAssertThrowsError(try db.migrate([v2]))
  }

  func testANonDatabaseFileIsAClearError() throws {
    let path = try makeScratchDirectory().appendingPathComponent("garbage.db").path
    try Data(String(repeating: "this is not a database\n", count: 400).utf8).write(to: URL(fileURLWithPath: path))
    assertSQLiteError(try Database(path: path)) { error in
      XCTAssertEqual(error.primaryCode, SQLiteError.Code.notADatabase)
      XCTAssertTrue(error.isCorruption)
      XCTAssertEqual(error.description, "\(path): file is not a database (code 26) in: PRAGMA journal_mode = WAL")
    }
    // The same through the store.
    assertSQLiteError(try Store(path: path)) { XCTAssertTrue($0.isCorruption) }
  }

  func testAMissingDirectoryIsAClearError() throws {
    let path = try makeScratchDirectory().appendingPathComponent("no/such/dir/state.db").path
    assertSQLiteError(try Database(path: path)) { error in
      XCTAssertEqual(error.primaryCode, SQLiteError.Code.cantOpen)
      XCTAssertTrue(error.description.hasPrefix(path + ": unable to open database file"), error.description)
    }
  }

  func testADamagedDatabaseIsReportedNotACrash() throws {
    let (store, path) = try makeStore()
    try store.insertSearch(id: "s1", specJSON: "{}")
    for i in 0..<300 { XCTAssertTrue(try store.recordEvaluation(evaluation("s1", "k\(i)"), engineJSON: nil)) }
    store.database.close()  // the last connection checkpoints the WAL into the file
    let url = URL(fileURLWithPath: path)
    var bytes = try Data(contentsOf: url)
    XCTAssertGreaterThan(bytes.count, 4096 * 6)
    for i in 4096..<(bytes.count - 4096) where i % 7 != 0 { bytes[i] = UInt8(truncatingIfNeeded: i &* 31) }
    try bytes.write(to: url)

    // Opening, checking or reading must throw, whichever notices first.
    XCTAssertThrowsError(
      try {
        let damaged = try Store(path: path)
        try damaged.checkIntegrity()
        _ = try damaged.evaluations(searchID: "s1")
      }()
    ) { error in
      switch error {
      case let error as SQLiteError: XCTAssertTrue(error.isCorruption, "\(error)")
      case StoreError.corrupt(let p, let problems):
        XCTAssertEqual(p, path)
        XCTAssertFalse(problems.isEmpty)
      default: XCTFail("unexpected \(error)")
      }
      XCTAssertTrue("\(error)".contains(path), "\(error)")
    }
  }

  func testASecondConnectionReadsWhileTheFirstWrites() throws {
    let (writer, path) = try makeStore()
    let reader = try Store(path: path, busyTimeout: .milliseconds(100))
    try writer.insertSearch(id: "s1", specJSON: "{}")

    try writer.transaction {
      XCTAssertTrue(try writer.recordEvaluation(evaluation("s1", "a"), engineJSON: #"{"n":1}"#))
      // The reader is not blocked by the open write transaction and sees the last commit.
      XCTAssertEqual(try reader.evaluationCount(searchID: "s1"), 0)
      XCTAssertNil(try reader.search(id: "s1")?.engineJSON)
      // A second writer waits for the busy timeout, then gets a clear SQLiteError.Code.busy.
      assertSQLiteError(try reader.insertSearch(id: "s2", specJSON: "{}")) { error in
        XCTAssertEqual(error.primaryCode, SQLiteError.Code.busy)
        XCTAssertTrue(error.message.contains("locked"), error.message)
      }
    }
    XCTAssertEqual(try reader.evaluationCount(searchID: "s1"), 1)
    XCTAssertEqual(try reader.search(id: "s1")?.engineJSON, #"{"n":1}"#)

    // A long read keeps its snapshot while the writer commits, without blocking it.
    try reader.database.execute("BEGIN")
    XCTAssertEqual(try reader.evaluationCount(searchID: "s1"), 1)
    XCTAssertTrue(try writer.recordEvaluation(evaluation("s1", "b"), engineJSON: #"{"n":2}"#))
    XCTAssertEqual(try reader.evaluationCount(searchID: "s1"), 1)
    try reader.database.execute("COMMIT")
    XCTAssertEqual(try reader.evaluationCount(searchID: "s1"), 2)
    XCTAssertEqual(try reader.evaluations(searchID: "s1").map(\.key), ["a", "b"])
  }
}
