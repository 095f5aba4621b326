import DiswotTensor

/// Errors in describing, building or loading a model; each message names the culprit.
public enum ModelError: Error, Equatable, CustomStringConvertible {
  /// An architecture description with a field out of range.
  case invalidDescription(String)
  /// A model name the registry does not know.
  case unknownModel(String)
  /// Weights that do not match the model (missing, unexpected or mis-shaped tensors).
  case stateMismatch(String)
  /// Weights holding NaN or an infinity; the message names the tensor.
  case nonFiniteWeights(String)
  /// A tensor kernel rejected its input.
  case tensor(TensorError)

  public var description: String {
    switch self {
    case .invalidDescription(let m): return "invalid architecture: \(m)"
    case .unknownModel(let m): return "unknown model: \(m)"
    case .stateMismatch(let m): return "weights do not match the model: \(m)"
    case .nonFiniteWeights(let m): return "weights are not finite: \(m)"
    case .tensor(let e): return e.description
    }
  }
}

extension ModelError {
  /// Throws `.invalidDescription("NAME must be between LO and HI, got V")` unless `value`
  /// lies in `range`: the one range check every architecture description repeats.
  static func require(_ name: String, _ value: Int, in range: ClosedRange<Int>) throws(ModelError) {
    guard range.contains(value) else {
      throw .invalidDescription("\(name) must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
    }
  }
}
