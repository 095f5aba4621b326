import Foundation

extension Store {
  private static let unscorableColumns = "search_id, key, arch_json, reason, worker, created_at"

  private static func unscorableRecord(_ row: Statement) throws -> UnscorableRecord {
    UnscorableRecord(
      searchID: try text(row, 0, "unscorable.search_id"), key: try text(row, 1, "unscorable.key"),
      archJSON: try text(row, 2, "unscorable.arch_json"), reason: try text(row, 3, "unscorable.reason"),
      worker: row.string(4), createdAt: try date(row, 5, "unscorable.created_at"))
  }

  /// Records that a candidate of a search could not be scored. Returns true when the row
  /// is new; false when the search already has one for this key (nothing changes, as for
  /// a duplicate evaluation). Call it inside the `transaction` that also saves the engine
  /// checkpoint counting it (`saveEngine`), so the two always agree.
  public func recordUnscorable(_ record: UnscorableRecord) throws -> Bool {
    let r = record
    return try database.transaction {
      let inserted = try database.run(
        """
        INSERT INTO unscorable (\(Self.unscorableColumns)) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (search_id, key) DO NOTHING
        """,
        [SQLValue(r.searchID), SQLValue(r.key), SQLValue(r.archJSON), SQLValue(r.reason), SQLValue(r.worker), SQLValue(r.createdAt)])
      guard inserted == 1 else { return false }
      try database.run("UPDATE searches SET updated_at = ? WHERE id = ?", [SQLValue(Self.now()), SQLValue(r.searchID)])
      return true
    }
  }

  /// A search's unscorable candidates in the order they were recorded; at most `limit`.
  public func unscorable(searchID: String, limit: Int = Int.max) throws -> [UnscorableRecord] {
    guard limit >= 0 else { throw StoreError.invalidArgument("limit must not be negative, got \(limit)") }
    return try database.query(
      "SELECT \(Self.unscorableColumns) FROM unscorable WHERE search_id = ? ORDER BY rowid LIMIT ?",
      [SQLValue(searchID), SQLValue(limit)], row: Self.unscorableRecord)
  }

  /// How many candidates of a search were recorded as unscorable.
  public func unscorableCount(searchID: String) throws -> Int {
    try database.first("SELECT count(*) FROM unscorable WHERE search_id = ?", [SQLValue(searchID)]) { $0.int(0) } ?? 0
  }
}
