import DiswotModels
import DiswotTensor

/// Limits a search must respect; nil means unconstrained.
public struct Constraints: Sendable, Codable, Equatable {
  public var maxParams: Int?
  public var maxMACs: Int?
  /// Batch-1 forward latency on this machine, in milliseconds.
  public var maxLatencyMilliseconds: Double?

  public init(maxParams: Int? = nil, maxMACs: Int? = nil, maxLatencyMilliseconds: Double? = nil) {
    self.maxParams = maxParams
    self.maxMACs = maxMACs
    self.maxLatencyMilliseconds = maxLatencyMilliseconds
  }

  enum CodingKeys: String, CodingKey {
    case maxParams = "max_params", maxMACs = "max_macs", maxLatencyMilliseconds = "max_latency_ms"
  }

  /// Every limit's accepted range: the one `search --local`, `search start` and the
  /// daemon's `search.start` share.
  public enum Limits {
    public static let maxParams = 1...1_000_000_000_000
    public static let maxMACs = 1...1_000_000_000_000_000
    /// Milliseconds, above zero.
    public static let maxLatencyMilliseconds = 0.001...1e6
  }

  /// Checks each limit that is set, naming the first out of range by its wire name.
  public func validate() throws(SearchError) {
    if let p = maxParams, !Limits.maxParams.contains(p) {
      throw .invalidConfiguration("max_params must be between 1 and 10^12, got \(p)")
    }
    if let m = maxMACs, !Limits.maxMACs.contains(m) {
      throw .invalidConfiguration("max_macs must be between 1 and 10^15, got \(m)")
    }
    if let l = maxLatencyMilliseconds, !Limits.maxLatencyMilliseconds.contains(l) {
      throw .invalidConfiguration("max_latency_ms must be between 0.001 and 10^6, got \(l)")
    }
  }
}

/// Parameters, MACs and (when a latency limit asks for it) measured latency of the
/// architectures of one space, each computed once and cached by key, so a search that
/// resamples many times pays for each architecture once. Parameters and MACs come from
/// the architecture's description (`MemoryFootprint`), so nothing is built unless its
/// latency must be measured.
///
/// With a `MemoryBudget`, an architecture whose estimated scoring memory is over the limit
/// is infeasible like one over a constraint: a space may hold architectures this machine
/// cannot score, and the search then runs over the others.
public final class CostModel {
  public struct Costs: Sendable, Codable, Equatable {
    public var params: Int
    public var macs: Int
    public var latencyMilliseconds: Double?
  }

  public let space: SearchSpace
  public let constraints: Constraints
  public let memory: MemoryBudget?
  /// Nil for an architecture that cannot be built or does not fit the memory budget.
  private var cache: [String: Costs?] = [:]
  /// Distinct architectures found infeasible for memory alone.
  public private(set) var overMemory = 0

  public init(space: SearchSpace, constraints: Constraints, memory: MemoryBudget? = nil) {
    self.space = space
    self.constraints = constraints
    self.memory = memory
  }

  /// The costs of `g`; nil when the architecture cannot be built (the space's own limits)
  /// or its estimated memory is over the budget.
  public func costs(of g: Genotype) -> Costs? {
    let key = space.key(of: g)
    if let cached = cache[key] { return cached }
    cache[key] = .some(nil)
    guard let footprint = try? space.footprint(of: g) else { return nil }
    if let memory, memory.refusal(of: g, in: space) != nil {
      overMemory += 1
      return nil
    }
    var costs = Costs(params: footprint.parameters, macs: footprint.macs)
    if constraints.maxLatencyMilliseconds != nil, costs.fitsStatic(constraints) {
      guard let model = try? space.build(g) else { return nil }
      costs.latencyMilliseconds = Self.latency(of: model, inputShape: space.inputShape)
    }
    cache[key] = costs
    return costs
  }

  /// Whether `g` satisfies every constraint.
  public func isFeasible(_ g: Genotype) -> Bool {
    guard let c = costs(of: g), c.fitsStatic(constraints) else { return false }
    if let limit = constraints.maxLatencyMilliseconds { return (c.latencyMilliseconds ?? .infinity) <= limit }
    return true
  }

  /// Median of 5 batch-1 inference passes after a warm-up, in milliseconds.
  static func latency(of model: any Classifier, inputShape: [Int]) -> Double {
    var rng = SeededGenerator(seed: 0)
    model.initialize(.kaimingNormalFanOut, using: &rng)
    let x = Tensor.normal([1] + inputShape, using: &rng)
    let clock = ContinuousClock()
    var samples: [Double] = []
    for run in 0..<6 {
      let start = clock.now
      _ = try? model.forward(x, mode: .inference)
      let d = clock.now - start
      if run > 0 { samples.append(Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) * 1e-15) }
    }
    return samples.sorted()[samples.count / 2]
  }
}

extension CostModel.Costs {
  /// Within the parameter and MAC limits (latency is checked separately: it is measured
  /// only for architectures that pass these).
  func fitsStatic(_ c: Constraints) -> Bool {
    (c.maxParams.map { params <= $0 } ?? true) && (c.maxMACs.map { macs <= $0 } ?? true)
  }
}
