/// How a search proposes candidates and when it stops.
public struct SearchConfiguration: Sendable, Codable, Equatable {
  /// Aging evolution, or uniform random sampling as the baseline.
  public enum Strategy: String, Sendable, Codable, CaseIterable {
    case evolution
    case random
  }

  public var strategy: Strategy
  /// Population size P of aging evolution (the first P candidates are random).
  public var population: Int
  /// Tournament size S: members sampled per step, the best of which is mutated.
  public var sample: Int
  /// Evaluations the search may spend (cached duplicates are free).
  public var budget: Int
  public var seed: UInt64
  /// Uniform samples per candidate (after evolution's mutation walks) before the engine
  /// falls back to enumerating the space, or — for spaces too large to enumerate —
  /// declares the constraints unsatisfiable or the space exhausted (see
  /// `SearchEngine.propose`). Enumerable spaces use at most their size.
  public var maxAttempts: Int
  /// Candidates in flight W: the engine keeps W proposals out ahead of the results it has
  /// applied, and applies results in proposal order, so proposal n is always made from the
  /// state after exactly n − W results. The search is then the same whatever order results
  /// arrive in and however many evaluators run it; W only bounds how many evaluators it can
  /// keep busy (a larger W feeds more, a smaller one lets evolution react sooner).
  public var window: Int

  /// `window` when a configuration does not give one (configurations stored before it
  /// existed, requests that leave it out): enough for two workers with one task each in
  /// reserve at the daemon's default task sizes, small next to the default population.
  public static let defaultWindow = 8

  public init(
    strategy: Strategy = .evolution, population: Int = 10, sample: Int = 3, budget: Int = 100, seed: UInt64 = 0,
    maxAttempts: Int = 10_000, window: Int = SearchConfiguration.defaultWindow
  ) {
    self.strategy = strategy
    self.population = population
    self.sample = sample
    self.budget = budget
    self.seed = seed
    self.maxAttempts = maxAttempts
    self.window = window
  }

  enum CodingKeys: String, CodingKey {
    case strategy, population, sample, budget, seed, maxAttempts, window
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    strategy = try c.decode(Strategy.self, forKey: .strategy)
    population = try c.decode(Int.self, forKey: .population)
    sample = try c.decode(Int.self, forKey: .sample)
    budget = try c.decode(Int.self, forKey: .budget)
    seed = try c.decode(UInt64.self, forKey: .seed)
    maxAttempts = try c.decode(Int.self, forKey: .maxAttempts)
    window = try c.decodeIfPresent(Int.self, forKey: .window) ?? Self.defaultWindow
  }

  /// Every field's accepted range: the one limit `search --local`, the daemon's
  /// `search.start` and Docs/protocol.md share.
  public enum Limits {
    public static let population = 1...100_000
    /// Every evaluation is kept (in the engine's history, and by the daemon in its store
    /// and in memory after a restart); a million is days of scoring on any machine.
    public static let budget = 1...1_000_000
    public static let maxAttempts = 1...10_000_000
    public static let window = 1...1_024
  }

  /// Checks the settings, naming the first that is out of range.
  public func validate() throws(SearchError) {
    guard Limits.population.contains(population) else { throw .invalidConfiguration("population must be between 1 and 100000, got \(population)") }
    guard (1...population).contains(sample) else { throw .invalidConfiguration("tournament size (sample) must be between 1 and the population (\(population)), got \(sample)") }
    guard Limits.budget.contains(budget) else { throw .invalidConfiguration("budget must be between 1 and 1000000, got \(budget)") }
    guard Limits.maxAttempts.contains(maxAttempts) else { throw .invalidConfiguration("maxAttempts must be between 1 and 10000000, got \(maxAttempts)") }
    guard Limits.window.contains(window) else { throw .invalidConfiguration("window must be between 1 and 1024, got \(window)") }
  }
}

/// Errors of the search engine.
public enum SearchError: Error, Equatable, CustomStringConvertible {
  case invalidConfiguration(String)
  /// A checkpoint that does not describe a valid engine state.
  case invalidState(String)

  public var description: String {
    switch self {
    case .invalidConfiguration(let m): return "invalid search configuration: \(m)"
    case .invalidState(let m): return "invalid search state: \(m)"
    }
  }
}
