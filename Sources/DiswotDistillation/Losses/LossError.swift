import DiswotScoring

/// Inputs a distillation loss cannot use; the message names the shapes or values involved.
public enum LossError: Error, Equatable, CustomStringConvertible {
  /// Operands whose shapes do not agree (batch sizes, class counts, ranks, spatial sizes).
  case shapeMismatch(String)
  /// A value outside what the loss is defined for (a label outside 0..<K, T ≤ 0, an empty batch).
  case invalidArgument(String)
  /// Student and teacher channel counts differ where the loss compares channels one to one
  /// (ICKD, FitNet): a learned embedding / regressor must map the student's channels first.
  case needsEmbedding(String)

  public var description: String {
    switch self {
    case .shapeMismatch(let m): return "distillation loss: shape mismatch: \(m)"
    case .invalidArgument(let m): return "distillation loss: invalid argument: \(m)"
    case .needsEmbedding(let m): return "distillation loss: \(m)"
    }
  }

  /// The same complaint raised by a DisWOT scoring function the loss reuses.
  init(_ error: ScoringError) {
    switch error {
    case .shapeMismatch(let m): self = .shapeMismatch(m)
    case .invalidArgument(let m), .tooLarge(let m): self = .invalidArgument(m)
    }
  }
}
