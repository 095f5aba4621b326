import Foundation

extension Store {
  private static let evaluationColumns =
    "search_id, key, arch_json, scores_json, params, macs, score, worker, seconds, created_at"

  private static func evaluationRecord(_ row: Statement) throws -> EvaluationRecord {
    EvaluationRecord(
      searchID: try text(row, 0, "evaluations.search_id"), key: try text(row, 1, "evaluations.key"),
      archJSON: try text(row, 2, "evaluations.arch_json"), scoresJSON: try text(row, 3, "evaluations.scores_json"),
      params: row.int(4), macs: row.int(5), score: row.double(6), worker: row.string(7), seconds: row.double(8),
      createdAt: try date(row, 9, "evaluations.created_at"))
  }

  /// Records a scored architecture and, in the same transaction, the engine checkpoint
  /// that includes it. Returns true when the evaluation is new; false when the search
  /// already has one for this key, in which case nothing changes (neither the row nor
  /// the checkpoint): a late duplicate is never counted twice. `engineJSON` nil records
  /// the evaluation alone. An unknown search is an `SQLiteError` (FOREIGN KEY constraint
  /// failed); a non-finite score is `StoreError.invalidArgument`.
  ///
  /// Called inside a `transaction`, it joins it (as a savepoint).
  public func recordEvaluation(_ evaluation: EvaluationRecord, engineJSON: String?) throws -> Bool {
    guard evaluation.score.isFinite else {
      throw StoreError.invalidArgument("score of \(evaluation.key) is \(evaluation.score); it must be finite")
    }
    guard evaluation.seconds.isFinite else {
      throw StoreError.invalidArgument("seconds of \(evaluation.key) is \(evaluation.seconds); it must be finite")
    }
    let e = evaluation
    return try database.transaction {
      // ON CONFLICT … DO NOTHING rather than INSERT OR IGNORE: OR IGNORE would also
      // swallow NOT NULL and CHECK failures; this ignores only the duplicate key.
      let inserted = try database.run(
        """
        INSERT INTO evaluations (\(Self.evaluationColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (search_id, key) DO NOTHING
        """,
        [
          SQLValue(e.searchID), SQLValue(e.key), SQLValue(e.archJSON), SQLValue(e.scoresJSON), SQLValue(e.params),
          SQLValue(e.macs), SQLValue(e.score), SQLValue(e.worker), SQLValue(e.seconds), SQLValue(e.createdAt),
        ])
      guard inserted == 1 else { return false }
      if let engineJSON {
        try database.run(
          "UPDATE searches SET engine_json = ?, updated_at = ? WHERE id = ?",
          [SQLValue(engineJSON), SQLValue(Self.now()), SQLValue(e.searchID)])
      } else {
        try database.run("UPDATE searches SET updated_at = ? WHERE id = ?", [SQLValue(Self.now()), SQLValue(e.searchID)])
      }
      return true
    }
  }

  /// The evaluation of `key` in a search, or nil.
  public func evaluation(searchID: String, key: String) throws -> EvaluationRecord? {
    try database.first(
      "SELECT \(Self.evaluationColumns) FROM evaluations WHERE search_id = ? AND key = ?",
      [SQLValue(searchID), SQLValue(key)], row: Self.evaluationRecord)
  }

  /// A search's evaluations in the order they were recorded.
  public func evaluations(searchID: String) throws -> [EvaluationRecord] {
    try database.query(
      "SELECT \(Self.evaluationColumns) FROM evaluations WHERE search_id = ? ORDER BY rowid",
      [SQLValue(searchID)], row: Self.evaluationRecord)
  }

  /// A search's `limit` best evaluations, highest score first (the earlier among equals).
  public func bestEvaluations(searchID: String, limit: Int) throws -> [EvaluationRecord] {
    guard limit >= 0 else { throw StoreError.invalidArgument("limit must not be negative, got \(limit)") }
    return try database.query(
      "SELECT \(Self.evaluationColumns) FROM evaluations WHERE search_id = ? ORDER BY score DESC, rowid LIMIT ?",
      [SQLValue(searchID), SQLValue(limit)], row: Self.evaluationRecord)
  }

  /// The keys of a search's evaluations in the order they were recorded (what
  /// `evaluations(searchID:)` returns, without reading each row's JSON).
  public func evaluatedKeys(searchID: String) throws -> [String] {
    try database.query("SELECT key FROM evaluations WHERE search_id = ? ORDER BY rowid", [SQLValue(searchID)]) {
      try Self.text($0, 0, "evaluations.key")
    }
  }

  /// How many evaluations a search has recorded.
  public func evaluationCount(searchID: String) throws -> Int {
    try database.first("SELECT count(*) FROM evaluations WHERE search_id = ?", [SQLValue(searchID)]) { $0.int(0) } ?? 0
  }
}
