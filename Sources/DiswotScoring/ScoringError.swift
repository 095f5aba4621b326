/// Inputs a scoring function cannot use; the message names the shapes or values involved.
public enum ScoringError: Error, Equatable, CustomStringConvertible {
  /// Operands whose shapes do not agree (batch sizes, class counts, ranks).
  case shapeMismatch(String)
  /// A value outside what the metric is defined for (a label outside 0..<K, an empty batch).
  case invalidArgument(String)
  /// A network whose estimated memory is over the limit (`MemoryBudget`); nothing was built.
  case tooLarge(String)

  public var description: String {
    switch self {
    case .shapeMismatch(let m): return "scoring: shape mismatch: \(m)"
    case .invalidArgument(let m): return "scoring: invalid argument: \(m)"
    case .tooLarge(let m): return "scoring: too large: \(m)"
    }
  }
}
