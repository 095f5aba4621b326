import DiswotModels
import DiswotTensor

/// Aging (regularised) evolution (Real et al., AAAI 2019) and random search, as a pure
/// state machine: no I/O, no clocks, no threads.
///
/// The engine is asynchronous by design. `propose` hands out up to N candidates at a time
/// and `record` accepts their scores in any order, so any number of evaluators can be kept
/// busy; a score for an unknown or already-scored key is ignored. Everything it knows is
/// in this `Codable` value, so a checkpoint taken between any two calls restores it
/// exactly, and the same seed with the same sequence of results gives the same search.
///
/// Scores are "higher is better"; callers negate proxies where lower is better.
public struct SearchEngine: Sendable, Codable, Equatable {
  /// A candidate handed out for evaluation.
  public struct Proposal: Sendable, Codable, Equatable {
    public var key: String
    public var genotype: Genotype
  }

  /// A scored candidate, in the order scores arrived.
  public struct Evaluation: Sendable, Codable, Equatable {
    public var key: String
    public var genotype: Genotype
    public var score: Double
    /// 1-based: this was the n-th evaluation the search spent.
    public var index: Int
  }

  /// Why the engine stops proposing.
  public enum Status: Sendable, Codable, Equatable {
    /// Still has budget (or evaluations outstanding).
    case running
    /// Budget spent and every proposal scored.
    case finished
    /// Every candidate it can reach has been evaluated before the budget ran out.
    case exhausted
    /// No candidate satisfying the constraints was found in `maxAttempts` tries.
    case infeasible(String)
  }

  public let configuration: SearchConfiguration
  public private(set) var history: [Evaluation] = []
  /// Indices into `history`, oldest first; at most `configuration.population` long.
  public private(set) var population: [Int] = []
  /// Proposed, not yet scored, in proposal order.
  public private(set) var pending: [Proposal] = []
  /// Evaluations spent (proposals made), never more than the budget.
  public private(set) var spent = 0
  public private(set) var status: Status = .running
  private var rng: SeededGenerator
  /// key → index into `history`, for de-duplication and the score cache.
  private var scored: [String: Int] = [:]

  public init(configuration: SearchConfiguration) throws(SearchError) {
    try configuration.validate()
    self.configuration = configuration
    rng = SeededGenerator(seed: configuration.seed ^ 0x5345_4152_4348)  // "SEARCH"
  }

  /// True once no more proposals will come and none are outstanding.
  public var isDone: Bool { status != .running && pending.isEmpty }

  /// The highest-scoring evaluation (the earliest among equals).
  public var best: Evaluation? { history.max { a, b in a.score < b.score || (a.score == b.score && a.index > b.index) } }

  /// The k best distinct architectures, best first.
  public func best(_ k: Int) -> [Evaluation] {
    Array(history.sorted { $0.score > $1.score || ($0.score == $1.score && $0.index < $1.index) }.prefix(k))
  }

  /// After how many evaluations the final best was first seen.
  public var evaluationsToBest: Int? { best?.index }

  /// Up to `count` new candidates. `isFeasible` says whether an architecture meets the
  /// constraints; infeasible ones are never proposed.
  public mutating func propose(
    _ count: Int, space: SearchSpace, isFeasible: (Genotype) -> Bool
  ) -> [Proposal] {
    var proposals: [Proposal] = []
    while proposals.count < count, status == .running, spent < configuration.budget {
      guard let proposal = nextProposal(space: space, isFeasible: isFeasible) else { break }
      pending.append(proposal)
      proposals.append(proposal)
      spent += 1
    }
    if spent == configuration.budget && status == .running && pending.isEmpty { status = .finished }
    return proposals
  }

  /// Records a score. Returns false (and changes nothing) for a key that is not pending.
  @discardableResult
  public mutating func record(key: String, score: Double) -> Bool {
    guard let i = pending.firstIndex(where: { $0.key == key }), score.isFinite else { return false }
    let proposal = pending.remove(at: i)
    let evaluation = Evaluation(key: key, genotype: proposal.genotype, score: score, index: history.count + 1)
    scored[key] = history.count
    history.append(evaluation)
    age(in: history.count - 1)
    if spent == configuration.budget && status == .running && pending.isEmpty { status = .finished }
    return true
  }

  /// Adds a member to the population; beyond P members the oldest dies.
  private mutating func age(in member: Int) {
    population.append(member)
    if population.count > configuration.population { population.removeFirst() }
  }

  private func isSeen(_ key: String) -> Bool { scored[key] != nil || pending.contains { $0.key == key } }

  private mutating func nextProposal(space: SearchSpace, isFeasible: (Genotype) -> Bool) -> Proposal? {
    var feasibleSeen = false
    for _ in 0..<configuration.maxAttempts {
      let candidate: Genotype
      let initialising = history.count + pending.count < configuration.population || population.isEmpty
      if configuration.strategy == .random || initialising {
        if configuration.strategy == .evolution && initialising && history.count + pending.count >= configuration.population {
          return nil  // the initial population is out for evaluation; tournaments need its scores
        }
        candidate = space.sample(using: &rng)
      } else {
        candidate = space.mutate(tournamentWinner(), using: &rng)
      }
      guard isFeasible(candidate) else { continue }
      feasibleSeen = true
      let key = space.key(of: candidate)
      if let cached = scored[key] {
        // A known architecture: its cached score re-enters the population for free, as
        // re-evaluating a deterministic score would in the original algorithm.
        if configuration.strategy == .evolution && !initialising { age(in: cached) }
        continue
      }
      if isSeen(key) { continue }
      return Proposal(key: key, genotype: candidate)
    }
    status = feasibleSeen ? .exhausted
      : .infeasible("no architecture meeting the constraints in \(configuration.maxAttempts) tries")
    return nil
  }

  // MARK: - Checkpoints without the history

  /// Everything of the engine except its history, for callers that keep the history
  /// themselves, in order (the daemon's evaluations table): its size does not grow with
  /// the search, so it can be written with every evaluation.
  public struct Checkpoint: Sendable, Codable, Equatable {
    public var configuration: SearchConfiguration
    /// How many evaluations the history holds (checked on restore).
    public var evaluations: Int
    public var population: [Int]
    public var pending: [Proposal]
    public var spent: Int
    public var status: Status
    var rng: SeededGenerator

    enum CodingKeys: String, CodingKey {
      case configuration, evaluations, population, pending, spent, status, rng
    }
  }

  /// The engine's state apart from its history.
  public var checkpoint: Checkpoint {
    Checkpoint(
      configuration: configuration, evaluations: history.count, population: population, pending: pending, spent: spent,
      status: status, rng: rng)
  }

  /// The engine a `checkpoint` was taken of, given its history: every scored candidate in
  /// the order it was recorded (the evaluation index is the position, 1-based).
  public init(checkpoint: Checkpoint, history: [(key: String, genotype: Genotype, score: Double)]) throws(SearchError) {
    try checkpoint.configuration.validate()
    guard history.count == checkpoint.evaluations else {
      throw .invalidState("the checkpoint counts \(checkpoint.evaluations) evaluations, the history has \(history.count)")
    }
    guard checkpoint.population.allSatisfy({ (0..<history.count).contains($0) }),
      checkpoint.population.count <= checkpoint.configuration.population
    else { throw .invalidState("population members outside the history") }
    guard checkpoint.spent == history.count + checkpoint.pending.count, checkpoint.spent <= checkpoint.configuration.budget else {
      throw .invalidState("spent \(checkpoint.spent) is not the \(history.count) evaluations plus \(checkpoint.pending.count) pending")
    }
    configuration = checkpoint.configuration
    rng = checkpoint.rng
    population = checkpoint.population
    pending = checkpoint.pending
    spent = checkpoint.spent
    status = checkpoint.status
    for (i, h) in history.enumerated() {
      guard h.score.isFinite, scored[h.key] == nil, !pending.contains(where: { $0.key == h.key }) else {
        throw .invalidState("history entry \(i + 1) (\(h.key)) is repeated, pending or not finite")
      }
      scored[h.key] = i
      self.history.append(Evaluation(key: h.key, genotype: h.genotype, score: h.score, index: i + 1))
    }
  }

  /// The best of `sample` distinct members drawn uniformly from the population.
  private mutating func tournamentWinner() -> Genotype {
    var candidates = population
    let draws = min(configuration.sample, candidates.count)
    var winner: Int?
    for d in 0..<draws {
      let j = d + Int(rng.next() % UInt64(candidates.count - d))
      candidates.swapAt(d, j)
      let member = candidates[d]
      if winner == nil || history[member].score > history[winner!].score { winner = member }
    }
    return history[winner!].genotype
  }
}
