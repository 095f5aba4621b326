import CSQLite
import Foundation

/// A failed SQLite call: the (extended) result code, SQLite's own message
/// (`sqlite3_errmsg`), the SQL that failed and the database file.
///
/// `description` reads like
/// `/state/diswot.db: FOREIGN KEY constraint failed (code 787) in: INSERT INTO evaluations …`.
public struct SQLiteError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The extended result code (`SQLITE_CONSTRAINT_FOREIGNKEY` = 787, …).
  public var code: Int32
  /// `sqlite3_errmsg` at the time of the failure.
  public var message: String
  /// The statement that failed, when there was one.
  public var sql: String?
  /// The database file.
  public var path: String

  public init(code: Int32, message: String, sql: String?, path: String) {
    self.code = code
    self.message = message
    self.sql = sql
    self.path = path
  }

  /// The primary result code (`SQLITE_CONSTRAINT` = 19 for every constraint failure, …).
  public var primaryCode: Int32 { code & 0xFF }

  /// True for a violated UNIQUE, NOT NULL, CHECK or FOREIGN KEY constraint.
  public var isConstraintViolation: Bool { primaryCode == SQLITE_CONSTRAINT }

  /// True when the file is not an SQLite database or is damaged.
  public var isCorruption: Bool { primaryCode == SQLITE_NOTADB || primaryCode == SQLITE_CORRUPT }

  public var description: String {
    var text = "\(path): \(message) (code \(code))"
    if let sql {
      let flat = sql.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }.joined(separator: " ")
      text += " in: " + (flat.count > 200 ? flat.prefix(200) + "…" : flat)
    }
    return text
  }
}

/// A store failure that is not SQLite's: a schema from a newer diswotd, a missing row, a
/// value the store refuses, or an SQLite library too old for the schema.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The file's `user_version` is newer than every migration this build knows.
  case schemaTooNew(path: String, found: Int, supported: Int)
  /// An update named a row that does not exist (`what` is "search" or "job").
  case notFound(what: String, id: String)
  /// An argument the store refuses (a malformed id, a non-finite score, …).
  case invalidArgument(String)
  /// A stored value that does not decode (an unknown state, a NULL in a required column).
  case invalidValue(column: String, value: String)
  /// `PRAGMA integrity_check` reported problems.
  case corrupt(path: String, problems: [String])
  /// The linked SQLite is older than the schema needs (STRICT tables: 3.37).
  case unsupportedSQLite(found: String, required: String)
  /// A pragma did not take effect (e.g. WAL on a file system without shared memory).
  case pragmaRefused(path: String, pragma: String, result: String)

  public var description: String {
    switch self {
    case .schemaTooNew(let path, let found, let supported):
      return "\(path): schema version \(found) is newer than this build understands (up to \(supported)); use a newer diswotd"
    case .notFound(let what, let id): return "no \(what) with id '\(id)'"
    case .invalidArgument(let m): return "invalid argument: \(m)"
    case .invalidValue(let column, let value): return "unexpected stored value in \(column): \(value)"
    case .corrupt(let path, let problems):
      return "\(path) is damaged: " + problems.prefix(5).joined(separator: "; ")
    case .unsupportedSQLite(let found, let required):
      return "SQLite \(found) is too old; diswot needs \(required) or newer"
    case .pragmaRefused(let path, let pragma, let result):
      return "\(path): PRAGMA \(pragma) did not take effect (got '\(result)')"
    }
  }
}

extension SQLiteError {
  /// Result codes a caller may want to tell apart (C's extended codes are macro
  /// expressions Swift does not import).
  public enum Code {
    public static let error: Int32 = SQLITE_ERROR  // 1
    public static let busy: Int32 = SQLITE_BUSY  // 5
    public static let corrupt: Int32 = SQLITE_CORRUPT  // 11
    public static let cantOpen: Int32 = SQLITE_CANTOPEN  // 14
    public static let constraint: Int32 = SQLITE_CONSTRAINT  // 19
    public static let notADatabase: Int32 = SQLITE_NOTADB  // 26
    public static let constraintCheck: Int32 = SQLITE_CONSTRAINT | (1 << 8)  // 275
    public static let constraintForeignKey: Int32 = SQLITE_CONSTRAINT | (3 << 8)  // 787
    public static let constraintNotNull: Int32 = SQLITE_CONSTRAINT | (5 << 8)  // 1299
    public static let constraintPrimaryKey: Int32 = SQLITE_CONSTRAINT | (6 << 8)  // 1555
    public static let constraintUnique: Int32 = SQLITE_CONSTRAINT | (8 << 8)  // 2067
    public static let constraintDatatype: Int32 = SQLITE_CONSTRAINT | (12 << 8)  // 3091
  }
}
