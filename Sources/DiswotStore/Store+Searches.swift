import Foundation

extension Store {
  private static let searchColumns = "id, created_at, spec_json, state, engine_json, error, updated_at"

  private static func searchRecord(_ row: Statement) throws -> SearchRecord {
    SearchRecord(
      id: try text(row, 0, "searches.id"), createdAt: try date(row, 1, "searches.created_at"),
      specJSON: try text(row, 2, "searches.spec_json"), state: try state(row, 3, "searches.state"),
      engineJSON: row.string(4), error: row.string(5), updatedAt: try date(row, 6, "searches.updated_at"))
  }

  /// Adds a search and returns its row. `id` nil generates one (`s-…`); an id already in
  /// use is an `SQLiteError` (a UNIQUE constraint violation).
  @discardableResult
  public func insertSearch(
    id: String? = nil, specJSON: String, state: SearchState = .running, engineJSON: String? = nil
  ) throws -> SearchRecord {
    let id = id ?? Self.makeID(prefix: "s")
    try Self.validateID(id)
    let now = Self.now()
    let record = SearchRecord(
      id: id, createdAt: now, specJSON: specJSON, state: state, engineJSON: engineJSON, error: nil, updatedAt: now)
    try database.run(
      "INSERT INTO searches (\(Self.searchColumns)) VALUES (?, ?, ?, ?, ?, ?, ?)",
      [SQLValue(id), SQLValue(now), SQLValue(specJSON), SQLValue(state.rawValue), SQLValue(engineJSON), .null, SQLValue(now)])
    return record
  }

  /// The search with `id`, or nil.
  public func search(id: String) throws -> SearchRecord? {
    try database.first("SELECT \(Self.searchColumns) FROM searches WHERE id = ?", [SQLValue(id)], row: Self.searchRecord)
  }

  /// Every search, newest first.
  public func searches() throws -> [SearchRecord] {
    try database.query(
      "SELECT \(Self.searchColumns) FROM searches ORDER BY created_at DESC, rowid DESC", row: Self.searchRecord)
  }

  /// The searches to restore after a restart (`running` and `paused`), oldest first.
  public func unfinishedSearches() throws -> [SearchRecord] {
    try database.query(
      "SELECT \(Self.searchColumns) FROM searches WHERE state IN ('running', 'paused') ORDER BY created_at, rowid",
      row: Self.searchRecord)
  }

  /// Sets a search's state and its error message (nil clears it). Throws
  /// `StoreError.notFound` for an unknown id. The store does not police transitions; the
  /// daemon does.
  public func setSearchState(_ id: String, _ state: SearchState, error: String? = nil) throws {
    let changed = try database.run(
      "UPDATE searches SET state = ?, error = ?, updated_at = ? WHERE id = ?",
      [SQLValue(state.rawValue), SQLValue(error), SQLValue(Self.now()), SQLValue(id)])
    guard changed == 1 else { throw StoreError.notFound(what: "search", id: id) }
  }

  /// Replaces a search's engine checkpoint (e.g. after proposing candidates; recording a
  /// result saves it with the evaluation instead). Throws `StoreError.notFound` for an
  /// unknown id.
  public func saveEngine(_ id: String, engineJSON: String) throws {
    let changed = try database.run(
      "UPDATE searches SET engine_json = ?, updated_at = ? WHERE id = ?",
      [SQLValue(engineJSON), SQLValue(Self.now()), SQLValue(id)])
    guard changed == 1 else { throw StoreError.notFound(what: "search", id: id) }
  }
}
