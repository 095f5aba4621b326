import DiswotWire

/// What a worker's RESULT must satisfy before anything of it is stored. A worker is a
/// separate program, possibly on another machine and of another version: its numbers are
/// checked like a client's, so a broken or lying worker cannot put negative parameter
/// counts, impossible timings or candidates nobody asked for into a search's history.
enum ResultCheck {
  /// Why `result` cannot be believed, or nil. `expected` holds the keys of the task when it
  /// is still out (nil for a late RESULT of a task already taken back); `proxies` are the
  /// scores every scored candidate must carry (a null — a non-finite score — is a value).
  static func refusal(of result: TaskResult, expected: Set<String>?, proxies: [String]) -> String? {
    var answered = Set<String>()
    for r in result.results {
      if let expected, !expected.contains(r.key) { return "\(r.key) is not a candidate of task \(result.taskID)" }
      guard answered.insert(r.key).inserted else { return "\(r.key) is answered twice" }
      guard r.seconds.isFinite, r.seconds >= 0 else { return "\(r.key): seconds must be a finite number ≥ 0, got \(r.seconds)" }
      if r.error != nil { continue }
      guard let params = r.params, params >= 0 else {
        return "\(r.key): params must be an integer ≥ 0, got \(r.params.map { "\($0)" } ?? "none")"
      }
      guard let macs = r.macs, macs >= 0 else { return "\(r.key): macs must be an integer ≥ 0, got \(r.macs.map { "\($0)" } ?? "none")" }
      if let missing = proxies.first(where: { r.scores[$0] == nil }) { return "\(r.key): no score for \(missing)" }
    }
    return nil
  }
}
