/// One step of a schema's history: what turns version `version - 1` into `version`.
///
/// Versions are kept in `PRAGMA user_version` (0 in a new file). `Database.migrate` runs
/// each missing step in its own `BEGIN IMMEDIATE` transaction together with the
/// `user_version` bump, so a crash mid-migration leaves the previous version intact and
/// the next open simply runs the step again. Steps are append-only: never edit a released
/// one, add version N + 1. A step that rebuilds a table (SQLite's 12-step ALTER) runs
/// inside that transaction, where `PRAGMA foreign_keys` cannot change; it uses
/// `PRAGMA defer_foreign_keys = ON` instead, which lasts until the commit.
public struct Migration: Sendable {
  public var version: Int
  public var apply: @Sendable (Database) throws -> Void

  public init(version: Int, apply: @escaping @Sendable (Database) throws -> Void) {
    self.version = version
    self.apply = apply
  }

  /// A step that is one SQL script.
  public init(version: Int, sql: String) {
    self.init(version: version) { try $0.execute(sql) }
  }
}

extension Database {
  /// Brings the schema to the last of `migrations` (versions 1, 2, … in order). Returns
  /// the versions before and after; a file already newer than every step is refused
  /// (`StoreError.schemaTooNew`) rather than written by code that does not understand it.
  /// Safe against a second process migrating at the same time: each step re-reads the
  /// version after taking the write lock.
  @discardableResult
  public func migrate(_ migrations: [Migration]) throws -> (from: Int, to: Int) {
    for (i, migration) in migrations.enumerated() where migration.version != i + 1 {
      throw StoreError.invalidArgument("migration \(i) has version \(migration.version); versions must be 1, 2, … in order")
    }
    let latest = migrations.count
    let initial = try userVersion()
    guard initial <= latest else { throw StoreError.schemaTooNew(path: path, found: initial, supported: latest) }
    for migration in migrations where migration.version > initial {
      try transaction {
        let current = try userVersion()
        guard current < migration.version else { return }  // another connection got here first
        try migration.apply(self)
        try setUserVersion(migration.version)
      }
    }
    let final = try userVersion()
    guard final <= latest else { throw StoreError.schemaTooNew(path: path, found: final, supported: latest) }
    return (initial, final)
  }
}
