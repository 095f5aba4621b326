#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How the `ensemble` proxy turns its components into one score: each component is
/// standardised against a fixed reference sample of the space, z = (u − median) / scale
/// with u the component made higher-is-better (and logged when it `comparesOnLogScale`)
/// and scale the reference's interquartile range / 1.349 (the standard deviation of a
/// normal with that IQR); each z is shrunk to its classical-test-theory true-score
/// estimate r·z (Kelley's formula, r the component's test–retest reliability on the
/// reference sample), and the score is the r-weighted mean over components of log F(r·z),
/// F the logistic CDF with unit variance, F(z) = σ(πz/√3).
///
/// Why this form:
/// - Proxies live on incomparable scales (a log-determinant near 800, saliencies near
///   10³⁰, distances near 10⁻³), so they must be put on one scale before they can be
///   combined; the median and IQR of a sample of the space are robust to the heavy tails
///   that zero-cost proxies have.
/// - The reference is drawn from the space with its own seed, the same for every
///   candidate, so a candidate's score is a pure function of (teacher, probe batch,
///   seed, candidate): any worker computes the same value, and a restarted search the same
///   history. (A population-ranked ensemble, as AZ-NAS does, would change every score
///   whenever a candidate was added.)
/// - log F is concave: a component far below the reference costs much more than one far
///   above it gains, so a candidate must be good on every kind of signal at once (the
///   non-linear aggregation AZ-NAS argues for with log-ranks, here without a population),
///   and it stays strictly increasing beyond the reference's range, so the best candidates
///   stay ordered. The logistic rather than the normal CDF because its upper tail decays
///   like e^−z, not e^−z²: log Φ(z) rounds to 0 next to the other components from z ≈ 8,
///   log F(z) only from z ≈ 20.
/// - Reliability, nothing fitted to a benchmark: the reference sample is scored twice, on
///   other probe batches with other initialisations (the retest), and a component's
///   reliability r is the Spearman ρ between its two rankings of the reference (clamped
///   at 0) — in classical test theory the share of its variance that is signal. A
///   component that ranks architectures by noise (the DisWOT terms on a space of
///   near-identical ResNets, where the differences are smaller than what the probe batch
///   changes) is then both shrunk towards the median and weighted down, and one that ranks
///   them reproducibly counts fully — measured for this space, teacher and probe data,
///   without ground truth. A component whose reliability is under 1/2 — more noise than
///   signal (`minimumReliability`) — is left out. Shrinking matters as much as weighting: the concave log F makes
///   the best candidates differ mostly in their weakest component, so an unshrunk noisy
///   component would decide among them. When no component is reliable at all, every r is
///   taken as 1 (equal weights, no shrinkage).
///
/// A non-finite component (a degenerate network, e.g. one whose ReLUs are all dead) is
/// treated as z = −8, far below anything measured: the candidate ranks last on that kind.
public struct EnsembleCalibration: Sendable, Codable, Equatable {
  /// One component's location and scale on the reference sample.
  public struct Component: Sendable, Codable, Equatable {
    public var proxy: Proxy
    /// Median of u over the reference sample.
    public var median: Double
    /// IQR of u / 1.349; 1 when the reference shows no spread (the component then only
    /// separates candidates by its sign relative to the median).
    public var scale: Double
    /// Spearman ρ between the test and retest rankings of the reference sample.
    public var reliability: Double
    /// The reliability when it reaches `minimumReliability`, else 0 (or 1 for every
    /// component when all are 0): the component's weight and the factor its z is shrunk by.
    public var weight: Double
  }

  public var components: [Component]
  /// How many reference architectures had a finite value for every component.
  public var referenceSize: Int

  /// The least reliability a component needs to count at all: 1/2, where its signal
  /// variance (share r, classical test theory) equals its noise variance (1 − r). Below
  /// it a component ranks candidates more by the probe batch and the initialisation than
  /// by the architecture; even shrunk and weighted down it then decides among the best
  /// candidates, where the reliable components differ little (the concave aggregation
  /// makes the weakest component count most), so the winner would again depend on the
  /// batch drawn. Not tuned: the point where signal and noise are equal.
  public static let minimumReliability = 0.5

  /// z-scores below this are clamped, so a single dead component ranks a candidate last
  /// without turning the score into −infinity.
  public static let floor = -8.0

  /// The higher-is-better, possibly logged form u of a proxy value v (NaN for a value
  /// that has none: non-finite, or ≤ 0 on a log scale).
  public static func transformed(_ value: Double, proxy: Proxy) -> Double {
    guard value.isFinite else { return .nan }
    var u = value
    if proxy.comparesOnLogScale {
      guard value > 0 else { return .nan }
      u = log(value)
    }
    return proxy.higherIsBetter ? u : -u
  }

  /// Calibrates from the reference sample's raw component values (one dictionary of
  /// proxy name → value per reference architecture), scored twice: `reference` and its
  /// `retest` replica, in the same order.
  public init(components proxies: [Proxy], reference: [[String: Double]], retest: [[String: Double]]) throws(ScoringError) {
    guard !proxies.isEmpty else { throw .invalidArgument("an ensemble needs at least one component") }
    guard retest.count == reference.count else {
      throw .invalidArgument("the retest has \(retest.count) architectures, the reference \(reference.count)")
    }
    var components: [Component] = []
    var allFinite = [Bool](repeating: true, count: reference.count)
    for proxy in proxies {
      let test = reference.map { Self.transformed($0[proxy.rawValue] ?? .nan, proxy: proxy) }
      for (i, u) in test.enumerated() where !u.isFinite { allFinite[i] = false }
      let sorted = test.filter(\.isFinite).sorted()
      guard sorted.count >= 4 else {
        throw .invalidArgument("the ensemble's reference sample has \(sorted.count) finite \(proxy.rawValue) values; at least 4 are needed")
      }
      let median = quantile(sorted, 0.5)
      let iqr = quantile(sorted, 0.75) - quantile(sorted, 0.25)
      // u is already higher-is-better; non-finite values rank last in either replica.
      let reliability = spearmanRho(
        rankable(test, higherIsBetter: true),
        rankable(retest.map { Self.transformed($0[proxy.rawValue] ?? .nan, proxy: proxy) }, higherIsBetter: true))
      components.append(Component(
        proxy: proxy, median: median, scale: iqr > 0 ? iqr / 1.349 : 1, reliability: reliability,
        weight: reliability.isFinite && reliability >= Self.minimumReliability ? reliability : 0))
    }
    if components.allSatisfy({ $0.weight == 0 }) {
      for i in components.indices { components[i].weight = 1 }
    }
    self.components = components
    referenceSize = allFinite.filter { $0 }.count
  }

  /// One line for logs: each component's reliability and weight.
  public var summary: String {
    components.map { c in
      "\(c.proxy.rawValue) reliability \(String(format: "%.2f", c.reliability)) weight \(String(format: "%.2f", c.weight))"
    }.joined(separator: ", ")
  }

  /// The ensemble score of one candidate's component values (higher is better, ≤ 0).
  public func score(_ values: [String: Double]) -> Double {
    var total = 0.0, weights = 0.0
    for c in components where c.weight > 0 {
      let u = Self.transformed(values[c.proxy.rawValue] ?? .nan, proxy: c.proxy)
      let z = u.isFinite ? max(Self.floor, c.weight * (u - c.median) / c.scale) : Self.floor
      total += c.weight * logLogisticCDF(z)
      weights += c.weight
    }
    return total / weights
  }
}

/// log F(z) for the logistic distribution with unit variance, F(z) = σ(x), x = πz/√3:
/// −log(1 + e^−x), computed so that neither tail overflows or loses precision.
public func logLogisticCDF(_ z: Double) -> Double {
  let x = z * Double.pi / 3.0.squareRoot()
  return x >= 0 ? -log1p(exp(-x)) : x - log1p(exp(x))
}

/// The q-quantile of ascending values, linearly interpolated (numpy's default).
func quantile(_ sorted: [Double], _ q: Double) -> Double {
  let position = q * Double(sorted.count - 1)
  let lower = Int(position.rounded(.down)), upper = min(lower + 1, sorted.count - 1)
  let fraction = position - Double(lower)
  return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
}
