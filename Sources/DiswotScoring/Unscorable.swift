extension Proxy {
  /// Why a candidate with these scores has no usable value of this proxy as its
  /// objective — the one rule `score`, `search --local` and the daemon apply: a missing or
  /// non-finite objective makes the candidate *unscorable* (recorded with this reason,
  /// never ranked). Nil when the value is finite.
  public func unscorableReason(in scores: [String: Double]) -> String? {
    guard let value = scores[rawValue] else { return "it has no \(rawValue) score" }
    guard !value.isFinite else { return nil }
    return "its \(rawValue) score is not finite (\(value.isNaN ? "NaN" : value > 0 ? "+infinity" : "-infinity"))"
  }
}
