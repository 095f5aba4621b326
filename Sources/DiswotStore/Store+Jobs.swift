import Foundation

extension Store {
  private static let jobColumns =
    "id, kind, search_id, spec_json, state, checkpoint_dir, progress_json, result_json, error, created_at, updated_at"

  private static func jobRecord(_ row: Statement) throws -> JobRecord {
    JobRecord(
      id: try text(row, 0, "jobs.id"), kind: try text(row, 1, "jobs.kind"), searchID: row.string(2),
      specJSON: try text(row, 3, "jobs.spec_json"), state: try state(row, 4, "jobs.state"),
      checkpointDir: row.string(5), progressJSON: row.string(6), resultJSON: row.string(7), error: row.string(8),
      createdAt: try date(row, 9, "jobs.created_at"), updatedAt: try date(row, 10, "jobs.updated_at"))
  }

  /// Adds a job and returns its row. `id` nil generates one (`j-…`); `searchID`, when
  /// given, must name an existing search (else an `SQLiteError`, FOREIGN KEY).
  @discardableResult
  public func insertJob(
    id: String? = nil, kind: String, searchID: String? = nil, specJSON: String, state: JobState = .queued,
    checkpointDir: String? = nil
  ) throws -> JobRecord {
    let id = id ?? Self.makeID(prefix: "j")
    try Self.validateID(id)
    let now = Self.now()
    let record = JobRecord(
      id: id, kind: kind, searchID: searchID, specJSON: specJSON, state: state, checkpointDir: checkpointDir,
      progressJSON: nil, resultJSON: nil, error: nil, createdAt: now, updatedAt: now)
    try database.run(
      "INSERT INTO jobs (\(Self.jobColumns)) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, NULL, ?, ?)",
      [
        SQLValue(id), SQLValue(kind), SQLValue(searchID), SQLValue(specJSON), SQLValue(state.rawValue),
        SQLValue(checkpointDir), SQLValue(now), SQLValue(now),
      ])
    return record
  }

  /// Updates the given fields of a job in one statement; nil leaves a field as it is.
  /// Throws `StoreError.notFound` for an unknown id.
  public func updateJob(
    _ id: String, state: JobState? = nil, progressJSON: String? = nil, resultJSON: String? = nil,
    error: String? = nil, checkpointDir: String? = nil
  ) throws {
    var assignments: [String] = []
    var values: [SQLValue] = []
    for (column, value) in [
      ("state", state?.rawValue), ("progress_json", progressJSON), ("result_json", resultJSON), ("error", error),
      ("checkpoint_dir", checkpointDir),
    ] {
      guard let value else { continue }
      assignments.append("\(column) = ?")
      values.append(.text(value))
    }
    assignments.append("updated_at = ?")
    values += [SQLValue(Self.now()), SQLValue(id)]
    let changed = try database.run("UPDATE jobs SET \(assignments.joined(separator: ", ")) WHERE id = ?", values)
    guard changed == 1 else { throw StoreError.notFound(what: "job", id: id) }
  }

  /// The job with `id`, or nil.
  public func job(id: String) throws -> JobRecord? {
    try database.first("SELECT \(Self.jobColumns) FROM jobs WHERE id = ?", [SQLValue(id)], row: Self.jobRecord)
  }

  /// Jobs in `state` (every job when nil), oldest first: queue order.
  public func jobs(state: JobState? = nil) throws -> [JobRecord] {
    if let state {
      return try database.query(
        "SELECT \(Self.jobColumns) FROM jobs WHERE state = ? ORDER BY created_at, rowid", [SQLValue(state.rawValue)],
        row: Self.jobRecord)
    }
    return try database.query("SELECT \(Self.jobColumns) FROM jobs ORDER BY created_at, rowid", row: Self.jobRecord)
  }

  /// The jobs to resume after a restart (`queued` and `running`), oldest first.
  public func unfinishedJobs() throws -> [JobRecord] {
    try database.query(
      "SELECT \(Self.jobColumns) FROM jobs WHERE state IN ('queued', 'running') ORDER BY created_at, rowid",
      row: Self.jobRecord)
  }
}
