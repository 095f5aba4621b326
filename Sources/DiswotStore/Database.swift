import CSQLite
import Foundation

/// One SQLite connection, configured for a daemon that must survive `kill -9` at any moment.
///
/// Opening sets, on every connection:
/// - `journal_mode = WAL`: readers never block the writer nor the writer the readers, and
///   a commit is one append to the `-wal` file, so a process killed at any instant leaves
///   either the whole transaction or none of it; the next open recovers from the WAL.
/// - `synchronous = FULL`: in WAL mode, NORMAL is already safe against an application
///   crash (`kill -9` included): a committed transaction is in the OS page cache, which
///   outlives the process. NORMAL only risks losing the last commits to an OS crash or
///   power loss. FULL adds one `fsync` of the WAL per commit so that a commit is also
///   durable across those. diswot commits at the rate evaluations finish (each takes far
///   longer than an fsync), and a commit is what the daemon then acknowledges to workers
///   and clients, so the fsync is cheap insurance that an acknowledged result never
///   disappears. Neither setting can corrupt the database or split a transaction.
/// - `foreign_keys = ON` (SQLite leaves them off by default, per connection).
/// - a busy timeout, so a second connection (another process's reader, a migration racing
///   a migration) waits for a lock instead of failing at once with `SQLITE_BUSY`.
///
/// The file is created when missing; its directory must exist (the daemon's state dir).
///
/// Threading: a `Database` and its `Statement`s belong to one thread or actor at a time
/// (SQLite's "multi-thread" mode: no internal mutex; `sqlite3_errmsg` and `changes` are
/// per-connection state that only make sense to the caller that just ran a statement).
/// They are therefore deliberately not `Sendable`; the compiler refuses to share one
/// across concurrency domains. Give each thread its own connection (WAL lets any number
/// of readers run beside the one writer), or keep the connection inside one actor.
public final class Database {
  /// The database file.
  public let path: String
  private var handle: OpaquePointer?
  /// Open savepoints inside the current transaction (nesting depth of `transaction`).
  private var savepointDepth = 0

  /// The oldest SQLite with everything the store uses (STRICT tables: 3.37.0).
  public static let minimumSQLiteVersion = (number: Int32(3_037_000), text: "3.37.0")

  /// The linked SQLite library's version ("3.40.1").
  public static var sqliteVersion: String { String(cString: sqlite3_libversion()) }

  /// Opens (creating when missing) the database at `path` and applies the pragmas above.
  /// A file that is not an SQLite database is an `SQLiteError` with code `SQLITE_NOTADB`.
  public init(path: String, busyTimeout: Duration = .seconds(5)) throws {
    guard sqlite3_libversion_number() >= Self.minimumSQLiteVersion.number else {
      throw StoreError.unsupportedSQLite(found: Self.sqliteVersion, required: Self.minimumSQLiteVersion.text)
    }
    self.path = path
    var connection: OpaquePointer?
    let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
    let code = sqlite3_open_v2(path, &connection, flags, nil)
    guard code == SQLITE_OK, let connection else {
      let message = connection.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
      sqlite3_close_v2(connection)
      throw SQLiteError(code: code, message: message, sql: nil, path: path)
    }
    handle = connection
    do {
      sqlite3_extended_result_codes(connection, 1)
      let milliseconds = busyTimeout.components.seconds * 1000 + busyTimeout.components.attoseconds / 1_000_000_000_000_000
      sqlite3_busy_timeout(connection, Int32(clamping: milliseconds))
      // The first statement reads the file header: a non-database fails here, clearly.
      try require("journal_mode = WAL", returns: "wal")
      try require("synchronous = FULL", check: "synchronous", returns: "2")
      try require("foreign_keys = ON", check: "foreign_keys", returns: "1")
    } catch {
      close()
      throw error
    }
  }

  deinit { sqlite3_close_v2(handle) }

  /// Closes the connection (also done when the value is released). Statements still alive
  /// keep SQLite's side open until they are released; any further use of this value throws.
  public func close() {
    guard let handle else { return }
    sqlite3_close_v2(handle)
    self.handle = nil
  }

  // MARK: Running SQL

  /// Prepares one statement.
  public func prepare(_ sql: String) throws -> Statement { try Statement(database: self, sql: sql) }

  /// Runs a script of any number of statements without parameters (schema, pragmas).
  public func execute(_ script: String) throws {
    let connection = try connection(for: script)
    let code = sqlite3_exec(connection, script, nil, nil, nil)
    guard code == SQLITE_OK else { throw error(code, sql: script) }
  }

  /// Runs one statement with `bindings` to the end; returns the rows it changed.
  @discardableResult
  public func run(_ sql: String, _ bindings: [SQLValue] = []) throws -> Int {
    let statement = try prepare(sql)
    try statement.bind(bindings)
    while try statement.step() {}
    return changes
  }

  /// Runs a query, turning each row into a value with `row`.
  public func query<Row>(_ sql: String, _ bindings: [SQLValue] = [], row: (Statement) throws -> Row) throws -> [Row] {
    let statement = try prepare(sql)
    try statement.bind(bindings)
    var rows: [Row] = []
    while try statement.step() { rows.append(try row(statement)) }
    return rows
  }

  /// The first row of a query, or nil when it has none.
  public func first<Row>(_ sql: String, _ bindings: [SQLValue] = [], row: (Statement) throws -> Row) throws -> Row? {
    let statement = try prepare(sql)
    defer { statement.reset() }
    try statement.bind(bindings)
    return try statement.step() ? try row(statement) : nil
  }

  /// Rows changed by the last INSERT, UPDATE or DELETE (`sqlite3_changes64`).
  public var changes: Int { handle.map { Int(sqlite3_changes64($0)) } ?? 0 }

  /// The rowid of the last successful INSERT.
  public var lastInsertRowID: Int64 { handle.map { sqlite3_last_insert_rowid($0) } ?? 0 }

  // MARK: Transactions

  /// True inside a transaction.
  public var isInTransaction: Bool { handle.map { sqlite3_get_autocommit($0) == 0 } ?? false }

  /// Runs `body` in a transaction: `BEGIN IMMEDIATE` (take the write lock up front, so a
  /// transaction that reads then writes cannot fail half-way with `SQLITE_BUSY`), `COMMIT`
  /// when it returns, `ROLLBACK` when it (or the commit) throws; the error is rethrown
  /// unchanged. Nested calls become savepoints: an inner failure undoes only the inner
  /// part, which the outer body may catch and carry on from.
  @discardableResult
  public func transaction<T>(_ body: () throws -> T) throws -> T {
    guard isInTransaction else {
      try execute("BEGIN IMMEDIATE")
      do {
        let result = try body()
        try execute("COMMIT")
        return result
      } catch {
        // Some errors (I/O, out of memory) already rolled SQLite back.
        if isInTransaction { try? execute("ROLLBACK") }
        throw error
      }
    }
    savepointDepth += 1
    defer { savepointDepth -= 1 }
    let name = "diswot_savepoint_\(savepointDepth)"
    try execute("SAVEPOINT \(name)")
    do {
      let result = try body()
      try execute("RELEASE \(name)")
      return result
    } catch {
      if isInTransaction { try? execute("ROLLBACK TO \(name); RELEASE \(name)") }
      throw error
    }
  }

  // MARK: Pragmas and checks

  /// The first column of `PRAGMA <text>`'s first row (nil when it returns no row).
  public func pragma(_ text: String) throws -> SQLValue? {
    try first("PRAGMA " + text) { $0.value(0) }
  }

  /// `PRAGMA user_version`: the schema version `migrate` maintains.
  public func userVersion() throws -> Int {
    guard case .integer(let v) = try pragma("user_version") else { return 0 }
    return Int(v)
  }

  /// Sets `PRAGMA user_version` (transactional: inside a transaction it commits with it).
  public func setUserVersion(_ version: Int) throws {
    try execute("PRAGMA user_version = \(version)")
  }

  /// `PRAGMA integrity_check`: an empty list when the file is sound, else SQLite's
  /// descriptions of what is wrong.
  public func integrityCheck() throws -> [String] {
    let rows = try query("PRAGMA integrity_check") { $0.string(0) ?? "" }
    return rows == ["ok"] ? [] : rows
  }

  // MARK: Internals

  /// The open connection, or a misuse error naming `sql` when closed.
  func connection(for sql: String?) throws -> OpaquePointer {
    guard let handle else {
      throw SQLiteError(code: SQLITE_MISUSE, message: "the database is closed", sql: sql, path: path)
    }
    return handle
  }

  /// The error for a failed call that returned `code`, with SQLite's current message.
  func error(_ code: Int32, sql: String?) -> SQLiteError {
    let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
    return SQLiteError(code: code, message: message, sql: sql, path: path)
  }

  /// Sets a pragma and checks that it took (`PRAGMA journal_mode = WAL` answers the mode
  /// it ended up in; others are read back through `check`).
  private func require(_ assignment: String, check: String? = nil, returns expected: String) throws {
    var result = try pragma(assignment)
    if let check { result = try pragma(check) }
    let text: String
    switch result {
    case .text(let s)?: text = s.lowercased()
    case .integer(let i)?: text = String(i)
    default: text = "nothing"
    }
    guard text == expected else { throw StoreError.pragmaRefused(path: path, pragma: assignment, result: text) }
  }
}
