/// How well one proxy's scores rank architectures against ground truth, the measures
/// `diswot rank` and `diswot quality` report.
public struct RankingQuality: Sendable, Codable, Equatable {
  /// Pairs compared.
  public var matched: Int
  public var kendallTau: Double
  public var spearmanRho: Double
  public var pearsonR: Double
  /// Share of the proxy's top `topFraction` that is in the truth's top `topFraction`.
  public var topPrecision: Double

  enum CodingKeys: String, CodingKey {
    case matched
    case kendallTau = "kendall_tau", spearmanRho = "spearman_rho", pearsonR = "pearson_r"
    case topPrecision = "top_precision"
  }

  /// The fraction of the best architectures `topPrecision` looks at.
  public static let topFraction = 0.1

  /// Scores are oriented first (negated when lower is better); a non-finite score — an
  /// unscorable candidate — ranks below every finite one, as a search would treat it.
  /// Pearson's r is computed over the finite pairs only (it has no rank to fall back on).
  public init(scores: [Double], truth: [Double], higherIsBetter: Bool) {
    precondition(scores.count == truth.count, "\(scores.count) scores for \(truth.count) truths")
    let oriented = rankable(scores, higherIsBetter: higherIsBetter)
    matched = scores.count
    kendallTau = DiswotScoring.kendallTau(oriented, truth)
    spearmanRho = DiswotScoring.spearmanRho(oriented, truth)
    let finite = oriented.indices.filter { oriented[$0].isFinite }
    pearsonR = DiswotScoring.pearsonR(finite.map { oriented[$0] }, finite.map { truth[$0] })
    topPrecision = Self.topPrecision(oriented, truth, fraction: Self.topFraction)
  }

  /// |top_k(proxy) ∩ top_k(truth)| / k with k = max(1, round(fraction · n)); ties at the
  /// cut are broken by position, so the measure is deterministic.
  public static func topPrecision(_ scores: [Double], _ truth: [Double], fraction: Double) -> Double {
    let n = scores.count
    guard n > 0 else { return .nan }
    let k = max(1, Int((fraction * Double(n)).rounded()))
    let byScore = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }.prefix(k)
    let byTruth = Set(truth.indices.sorted { truth[$0] > truth[$1] || (truth[$0] == truth[$1] && $0 < $1) }.prefix(k))
    return Double(byScore.filter(byTruth.contains).count) / Double(k)
  }
}

/// Scores made higher-is-better, with every non-finite score (an unscorable candidate)
/// −infinity, so it ranks below every finite one — how every ranking here treats them.
func rankable(_ scores: [Double], higherIsBetter: Bool) -> [Double] {
  scores.map { $0.isFinite ? (higherIsBetter ? $0 : -$0) : -.infinity }
}

/// Mean Spearman ρ over every pair of rankings of the same candidates (one per probe
/// seed): how much a proxy's ranking depends on the probe batch and initialisation it
/// happened to get. NaN with fewer than two rankings. Non-finite scores rank last.
public func rankingStability(_ rankings: [[Double]], higherIsBetter: Bool) -> Double {
  guard rankings.count >= 2 else { return .nan }
  let oriented = rankings.map { rankable($0, higherIsBetter: higherIsBetter) }
  var total = 0.0, pairs = 0
  for i in 0..<oriented.count {
    for j in (i + 1)..<oriented.count {
      total += spearmanRho(oriented[i], oriented[j])
      pairs += 1
    }
  }
  return total / Double(pairs)
}
