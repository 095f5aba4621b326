import CSQLite
import Foundation

/// A value bound to a statement parameter or read from a column, one case per SQLite
/// storage class. Literals work: `["s-1", 3, 0.5, nil]`.
public enum SQLValue: Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
  ExpressibleByFloatLiteral, ExpressibleByNilLiteral
{
  case null
  case integer(Int64)
  case real(Double)
  case text(String)
  case blob(Data)

  public init(stringLiteral value: String) { self = .text(value) }
  public init(integerLiteral value: Int64) { self = .integer(value) }
  public init(floatLiteral value: Double) { self = .real(value) }
  public init(nilLiteral: ()) { self = .null }

  /// `.text`, or `.null` for nil.
  public init(_ value: String?) { self = value.map { .text($0) } ?? .null }
  /// `.integer`, or `.null` for nil.
  public init(_ value: Int?) { self = value.map { .integer(Int64($0)) } ?? .null }
  /// `.integer`, or `.null` for nil.
  public init(_ value: Int64?) { self = value.map { .integer($0) } ?? .null }
  /// `.real`, or `.null` for nil. SQLite stores NaN as NULL.
  public init(_ value: Double?) { self = value.map { .real($0) } ?? .null }
  /// `.blob`, or `.null` for nil.
  public init(_ value: Data?) { self = value.map { .blob($0) } ?? .null }
  /// Seconds since 1970 as `.real` (how the store keeps every timestamp), or `.null`.
  public init(_ value: Date?) { self = value.map { .real($0.timeIntervalSince1970) } ?? .null }
}

/// A prepared statement (`sqlite3_prepare_v2`): bind parameters (1-based), `step` through
/// the rows, read columns (0-based) by type. It keeps its `Database` open and is finalized
/// when released. Like its database it belongs to one thread at a time, so it is not
/// `Sendable`.
public final class Statement {
  /// The connection this statement runs on.
  public let database: Database
  /// The SQL it was prepared from.
  public let sql: String
  private let handle: OpaquePointer

  init(database: Database, sql: String) throws {
    let connection = try database.connection(for: sql)
    var statement: OpaquePointer?
    var tail: UnsafePointer<CChar>?
    let code = sql.withCString { sqlite3_prepare_v2(connection, $0, -1, &statement, &tail) }
    guard code == SQLITE_OK, let statement else {
      throw database.error(code, sql: sql)
    }
    // A second statement after the first would silently never run (trailing whitespace,
    // semicolons and comments prepare to nothing and are fine).
    if let tail, tail.pointee != 0, Self.containsStatement(connection, tail) {
      sqlite3_finalize(statement)
      throw SQLiteError(
        code: SQLITE_MISUSE, message: "more than one statement; use execute(_:) for scripts", sql: sql,
        path: database.path)
    }
    self.database = database
    self.sql = sql
    handle = statement
  }

  deinit { sqlite3_finalize(handle) }

  /// True when `sql` holds a statement, not just whitespace, semicolons and comments.
  private static func containsStatement(_ connection: OpaquePointer, _ sql: UnsafePointer<CChar>) -> Bool {
    var rest: UnsafePointer<CChar>? = sql
    while let current = rest, current.pointee != 0 {
      var statement: OpaquePointer?
      var next: UnsafePointer<CChar>?
      // A syntax error still counts as "something there".
      guard sqlite3_prepare_v2(connection, current, -1, &statement, &next) == SQLITE_OK else { return true }
      if let statement {
        sqlite3_finalize(statement)
        return true
      }
      guard let next, next != current else { return false }
      rest = next
    }
    return false
  }

  // MARK: Binding

  /// Binds `values` to parameters 1, 2, … (after `reset` and `clearBindings`).
  public func bind(_ values: [SQLValue]) throws {
    reset()
    sqlite3_clear_bindings(handle)
    let expected = Int(sqlite3_bind_parameter_count(handle))
    guard values.count == expected else {
      throw SQLiteError(
        code: SQLITE_RANGE, message: "\(values.count) values for \(expected) parameters", sql: sql,
        path: database.path)
    }
    for (i, value) in values.enumerated() { try bind(value, at: i + 1) }
  }

  /// Binds one value to the 1-based parameter `index`.
  public func bind(_ value: SQLValue, at index: Int) throws {
    let i = Int32(index)
    let code: Int32
    switch value {
    case .null:
      code = sqlite3_bind_null(handle, i)
    case .integer(let v):
      code = sqlite3_bind_int64(handle, i, v)
    case .real(let v):
      code = sqlite3_bind_double(handle, i, v)
    case .text(let v):
      var v = v
      code = v.withUTF8 { bytes in
        // A nil pointer would bind NULL, so an empty string gets a real (empty) C string.
        guard let base = bytes.baseAddress else {
          return sqlite3_bind_text64(handle, i, "", 0, transient, UInt8(SQLITE_UTF8))
        }
        return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
          sqlite3_bind_text64(handle, i, $0, UInt64(bytes.count), transient, UInt8(SQLITE_UTF8))
        }
      }
    case .blob(let v):
      code =
        v.isEmpty
        ? sqlite3_bind_zeroblob(handle, i, 0)
        : v.withUnsafeBytes { sqlite3_bind_blob64(handle, i, $0.baseAddress, UInt64($0.count), transient) }
    }
    guard code == SQLITE_OK else { throw database.error(code, sql: sql) }
  }

  // MARK: Stepping

  /// Runs the statement to its next row: true when a row is available to read, false when
  /// it is done (the statement is then reset so it can run again).
  @discardableResult
  public func step() throws -> Bool {
    let code = sqlite3_step(handle)
    switch code {
    case SQLITE_ROW: return true
    case SQLITE_DONE:
      sqlite3_reset(handle)
      return false
    default:
      let error = database.error(code, sql: sql)
      sqlite3_reset(handle)
      throw error
    }
  }

  /// Rewinds the statement (bindings are kept); ends any read it held open.
  public func reset() { sqlite3_reset(handle) }

  // MARK: Columns

  /// Columns in the result rows.
  public var columnCount: Int { Int(sqlite3_column_count(handle)) }

  /// The name of 0-based `column`.
  public func columnName(_ column: Int) -> String {
    sqlite3_column_name(handle, Int32(column)).map { String(cString: $0) } ?? ""
  }

  /// True when `column` of the current row is NULL.
  public func isNull(_ column: Int) -> Bool { sqlite3_column_type(handle, Int32(column)) == SQLITE_NULL }

  /// `column` as an integer (NULL reads as 0, as in SQLite).
  public func int64(_ column: Int) -> Int64 { sqlite3_column_int64(handle, Int32(column)) }

  /// `column` as an `Int` (NULL reads as 0).
  public func int(_ column: Int) -> Int { Int(sqlite3_column_int64(handle, Int32(column))) }

  /// `column` as a number (NULL reads as 0).
  public func double(_ column: Int) -> Double { sqlite3_column_double(handle, Int32(column)) }

  /// `column` as text, nil when NULL.
  public func string(_ column: Int) -> String? {
    let c = Int32(column)
    guard sqlite3_column_type(handle, c) != SQLITE_NULL else { return nil }
    guard let text = sqlite3_column_text(handle, c) else { return "" }
    let count = Int(sqlite3_column_bytes(handle, c))
    return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
  }

  /// `column` as bytes, nil when NULL.
  public func blob(_ column: Int) -> Data? {
    let c = Int32(column)
    guard sqlite3_column_type(handle, c) != SQLITE_NULL else { return nil }
    guard let bytes = sqlite3_column_blob(handle, c) else { return Data() }
    return Data(bytes: bytes, count: Int(sqlite3_column_bytes(handle, c)))
  }

  /// `column` as a timestamp (seconds since 1970), nil when NULL.
  public func date(_ column: Int) -> Date? {
    isNull(column) ? nil : Date(timeIntervalSince1970: double(column))
  }

  /// `column` in its own storage class.
  public func value(_ column: Int) -> SQLValue {
    switch sqlite3_column_type(handle, Int32(column)) {
    case SQLITE_INTEGER: return .integer(int64(column))
    case SQLITE_FLOAT: return .real(double(column))
    case SQLITE_TEXT: return .text(string(column) ?? "")
    case SQLITE_BLOB: return .blob(blob(column) ?? Data())
    default: return .null
    }
  }
}

/// `SQLITE_TRANSIENT`: SQLite copies the bound bytes before the call returns (the C macro
/// is a cast of -1 that Swift does not import).
private var transient: sqlite3_destructor_type { unsafeBitCast(-1, to: sqlite3_destructor_type.self) }
