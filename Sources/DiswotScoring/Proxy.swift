/// A training-free measure of a candidate, named as on the command line (`--proxies`).
public enum Proxy: String, Sendable, Codable, CaseIterable {
  /// −(semantic + relation): DisWOT's predictor of post-distillation accuracy.
  case diswot
  /// Distance of class-activation (classifier gradient) similarity matrices to the teacher's.
  case semantic
  /// Distance of batch relation (Gram) matrices to the teacher's.
  case relation
  /// Learned parameters.
  case params
  /// Multiply-accumulates of one forward pass on one image.
  case macs
  /// NASWOT: log-determinant of the ReLU binary-code kernel (Mellor et al. 2021).
  case nwot
  /// Zen-score: feature sensitivity to Gaussian input perturbation (Lin et al. 2021).
  case zen

  /// Whether a larger value predicts a better student (used when ranking and searching).
  public var higherIsBetter: Bool {
    switch self {
    case .semantic, .relation: return false
    case .diswot, .params, .macs, .nwot, .zen: return true
    }
  }

  /// Parses a comma-separated list, rejecting unknown names with the valid ones listed.
  public static func parseList(_ names: [String]) throws(ScoringError) -> [Proxy] {
    var result: [Proxy] = []
    for name in names {
      guard let proxy = Proxy(rawValue: name) else {
        throw .invalidArgument("unknown proxy '\(name)' (known: \(allCases.map(\.rawValue).joined(separator: ", ")))")
      }
      if !result.contains(proxy) { result.append(proxy) }
    }
    guard !result.isEmpty else { throw .invalidArgument("no proxies given") }
    return result
  }
}
