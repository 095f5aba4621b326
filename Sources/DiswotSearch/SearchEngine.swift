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
/// Scores are "higher is better"; callers negate proxies where lower is better. A
/// candidate without a finite score is *unscorable*: it spends its budget, is never
/// proposed again and never enters the population, and a search that ends without any
/// finite score has failed (`failure`). This is the one rule `search --local` and the
/// daemon share.
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

  /// A candidate that could not be scored, in the order such candidates were recorded.
  public struct Unscorable: Sendable, Codable, Equatable {
    public var key: String
    public var genotype: Genotype
    /// Why, for people: "its diswot score is not finite (nan)", "needs 12.3 GiB, over …".
    public var reason: String

    public init(key: String, genotype: Genotype, reason: String) {
      self.key = key
      self.genotype = genotype
      self.reason = reason
    }
  }

  /// Why the engine stops proposing.
  public enum Status: Sendable, Codable, Equatable {
    /// Still has budget (or evaluations outstanding).
    case running
    /// Budget spent and every proposal scored.
    case finished
    /// Every feasible architecture was scored (or is pending) before the budget ran out.
    /// Certain for spaces of at most `enumerationLimit` genotypes; for larger spaces it
    /// means `maxAttempts` uniform samples found nothing unseen (see `propose`).
    case exhausted
    /// No architecture satisfies the constraints: none of an enumerable space, or none in
    /// `maxAttempts` samples of a larger one (and none was found before).
    case infeasible(String)
  }

  public let configuration: SearchConfiguration
  public private(set) var history: [Evaluation] = []
  /// Proposed candidates that turned out unscorable (they count against the budget).
  public private(set) var unscorable: [Unscorable] = []
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
  /// The keys of `unscorable`, for de-duplication.
  private var unscorableKeys: Set<String> = []

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

  /// Why the search failed, once it is done without a single finite score: no
  /// architecture met the constraints, or every candidate was unscorable. Nil while it
  /// runs and for every search with a score.
  public var failure: String? {
    guard isDone, history.isEmpty else { return nil }
    if case .infeasible(let why) = status { return "the constraints cannot be met: \(why)" }
    guard let last = unscorable.last else { return nil }
    let n = unscorable.count
    return "no candidate could be scored: \(n == 1 ? "the only one was" : "all \(n) were") unscorable (the last, \(last.key): \(last.reason))"
  }

  /// Up to `count` new candidates. `isFeasible` says whether an architecture meets the
  /// constraints; infeasible ones are never proposed.
  ///
  /// Stopping rule: the engine stops before its budget is spent (`exhausted`) only when
  /// no feasible architecture is left that has not been scored or proposed. For each
  /// candidate it tries, in order:
  /// 1. (evolution, after the initial population) escalating mutation of tournament
  ///    winners: `tournamentsPerLevel` tournaments per level, one mutation at level 1 up to
  ///    one per mutable position (see `evolve`);
  /// 2. uniform samples (random search, the initial population, evolution's random
  ///    immigrants): at most `maxAttempts`, and at most the space's size for enumerable
  ///    spaces, where enumerating is then the cheaper way on;
  /// 3. for spaces of at most `enumerationLimit` genotype combinations, every architecture:
  ///    a uniform choice among the feasible unseen ones (with the engine's generator).
  ///    None left is `exhausted`; none feasible at all is `infeasible`.
  ///
  /// Exhaustion is therefore exact for enumerable spaces (S1, NAS-Bench-201); for larger
  /// ones (`resnet-cifar`, `mobilenetv2`) it is probabilistic: `maxAttempts` uniform
  /// samples found nothing feasible and unseen. Random search thus samples without
  /// replacement in effect and never stops early while an unscored feasible architecture
  /// is left in an enumerable space.
  ///
  /// The work per call is bounded: per candidate at most `tournamentsPerLevel` × positions
  /// mutants, `maxAttempts` samples and a pass over the enumeration; per call at most one
  /// enumeration (≤ `enumerationLimit` genotypes). The enumeration lives only for the call
  /// (a function of the space, which the engine does not hold), so the engine stays a pure
  /// function of its configuration and the calls made on it, and `Checkpoint` needs no new
  /// state: old checkpoints decode and restore unchanged.
  public mutating func propose(
    _ count: Int, space: SearchSpace, isFeasible: (Genotype) -> Bool
  ) -> [Proposal] {
    var proposals: [Proposal] = []
    var enumeration: Enumeration?
    while proposals.count < count, status == .running, spent < configuration.budget {
      guard let proposal = nextProposal(space: space, isFeasible: isFeasible, enumeration: &enumeration) else { break }
      pending.append(proposal)
      proposals.append(proposal)
      spent += 1
    }
    if spent == configuration.budget && status == .running && pending.isEmpty { status = .finished }
    return proposals
  }

  /// Tournaments per mutation level (see `evolve`) before evolution proposes a random
  /// immigrant. On S1 (200 seeds) any value from 3 to 10 000 gives the same search quality;
  /// 20 keeps the old engine's trajectories wherever it needed no more tries than that.
  public static let tournamentsPerLevel = 20
  /// Spaces with at most this many genotype combinations (`SearchSpace.enumerate(limit:)`)
  /// are enumerated when sampling finds nothing unseen: 100 000 keys are a few tens of
  /// milliseconds, well within one turn of the daemon's event loop, and cover S1 (64) and
  /// NAS-Bench-201 (15 625) but not `resnet-cifar` (373 248).
  public static let enumerationLimit = 100_000

  /// Records a score. Returns false (and changes nothing) for a key that is not pending.
  /// A score that is not finite makes the candidate unscorable (`recordUnscorable`).
  @discardableResult
  public mutating func record(key: String, score: Double) -> Bool {
    guard score.isFinite else { return recordUnscorable(key: key, reason: "its objective is not finite (\(score))") }
    guard let i = pending.firstIndex(where: { $0.key == key }) else { return false }
    let proposal = pending.remove(at: i)
    let evaluation = Evaluation(key: key, genotype: proposal.genotype, score: score, index: history.count + 1)
    scored[key] = history.count
    history.append(evaluation)
    age(in: history.count - 1)
    if spent == configuration.budget && status == .running && pending.isEmpty { status = .finished }
    return true
  }

  /// Records that a pending candidate cannot be scored, and why: it keeps its share of the
  /// budget, leaves `pending`, and is never proposed again. Returns false (and changes
  /// nothing) for a key that is not pending.
  @discardableResult
  public mutating func recordUnscorable(key: String, reason: String) -> Bool {
    guard let i = pending.firstIndex(where: { $0.key == key }) else { return false }
    let proposal = pending.remove(at: i)
    unscorable.append(Unscorable(key: key, genotype: proposal.genotype, reason: reason))
    unscorableKeys.insert(key)
    if spent == configuration.budget && status == .running && pending.isEmpty { status = .finished }
    return true
  }

  /// Adds a member to the population; beyond P members the oldest dies.
  private mutating func age(in member: Int) {
    population.append(member)
    if population.count > configuration.population { population.removeFirst() }
  }

  private func isSeen(_ key: String) -> Bool {
    scored[key] != nil || unscorableKeys.contains(key) || pending.contains { $0.key == key }
  }

  /// The space's architectures not yet found infeasible, with their keys, in enumeration
  /// order; built at most once per `propose` call and never stored in the engine.
  struct Enumeration {
    var candidates: [(key: String, genotype: Genotype)]
  }

  private mutating func nextProposal(
    space: SearchSpace, isFeasible: (Genotype) -> Bool, enumeration: inout Enumeration?
  ) -> Proposal? {
    var feasibleSeen = false
    if configuration.strategy == .evolution {
      let drawn = history.count + pending.count
      if drawn < configuration.population || population.isEmpty {
        // The initial population is random; once it is all out, tournaments need its scores.
        if drawn >= configuration.population { return nil }
      } else if let child = evolve(space: space, isFeasible: isFeasible, feasibleSeen: &feasibleSeen) {
        return child
      }
    }

    // Uniform samples: random search, the initial population, immigrants. In an
    // enumerable space more samples than it has architectures cost more than enumerating.
    let combinations = space.choices.reduce(1.0) { total, choice in choice.options.reduce(total) { $0 * Double($1.count) } }
    let enumerable = combinations <= Double(Self.enumerationLimit)
    let samples = enumerable ? min(configuration.maxAttempts, max(1, Int(space.size))) : configuration.maxAttempts
    for _ in 0..<samples {
      let candidate = space.sample(using: &rng)
      guard isFeasible(candidate) else { continue }
      feasibleSeen = true
      let key = space.key(of: candidate)
      if !isSeen(key) { return Proposal(key: key, genotype: candidate) }
    }

    guard enumerable else {
      status = feasibleSeen || !history.isEmpty || !pending.isEmpty || !unscorable.isEmpty ? .exhausted
        : .infeasible("no architecture meeting the constraints in \(configuration.maxAttempts) tries")
      return nil
    }
    if enumeration == nil, let all = try? space.enumerate(limit: Self.enumerationLimit) {
      enumeration = Enumeration(candidates: all.map { (key: space.key(of: $0), genotype: $0) })
    }
    // A uniformly random order of the unseen architectures, drawn lazily (Fisher–Yates):
    // its first feasible one is uniform among the feasible unseen ones.
    let pendingKeys = Set(pending.map(\.key))
    var unseen = (enumeration?.candidates ?? []).filter {
      scored[$0.key] == nil && !unscorableKeys.contains($0.key) && !pendingKeys.contains($0.key)
    }
    var infeasible = Set<String>()
    defer { if !infeasible.isEmpty { enumeration?.candidates.removeAll { infeasible.contains($0.key) } } }
    for i in unseen.indices {
      unseen.swapAt(i, i + Int(rng.next() % UInt64(unseen.count - i)))
      if isFeasible(unseen[i].genotype) { return Proposal(key: unseen[i].key, genotype: unseen[i].genotype) }
      infeasible.insert(unseen[i].key)
    }
    // Every feasible architecture is scored, unscorable or pending — or there is none at all.
    status = history.isEmpty && pending.isEmpty && unscorable.isEmpty
      ? .infeasible("no architecture of the space meets the constraints") : .exhausted
    return nil
  }

  /// Aging evolution's child, or nil when escalating mutation found nothing unseen.
  ///
  /// Escalation: `tournamentsPerLevel` tournaments whose winners are mutated once (the
  /// plain aging-evolution child), then as many whose winners are mutated twice, and so on
  /// up to one mutation per mutable position of the space, so that the last level can
  /// reach any architecture. Every try draws a new tournament. A mutant that breaks the
  /// constraints is skipped, as is one already scored or pending.
  ///
  /// Why levels before tournaments, not a walk of several mutations from one winner before
  /// the next tournament: on S1 with the DisWOT scores of `SearchQualityTests` (P = 10,
  /// S = 3, 200 seeds) the walk reached the best within 40 evaluations in 155 seeds and
  /// this order in 162, as the old engine did (and in 19–20 of the test's 20 seeds against
  /// 15): plain children of other good members are usually the better unseen candidates.
  ///
  /// A plain child that is already scored re-enters the population with its cached score:
  /// in Real et al.'s algorithm it would be evaluated again (a deterministic score gives
  /// the same number) and join the population, aging out the oldest member; the cache makes
  /// that cycle free, and keeping it keeps the search's selection pressure (and, below the
  /// bound, exactly its old trajectories). Such free cycles are now bounded by
  /// `tournamentsPerLevel` per proposal — the engine used to allow `maxAttempts` of them
  /// (10 000), which let a dominant winner and its scored neighbours flood the population
  /// until every tournament produced known neighbours and the search stopped "exhausted"
  /// with budget and unseen architectures left (issue 10). Escalated mutants and
  /// immigrants never re-enter: they are not children the algorithm would have made, only
  /// a way to find something new.
  private mutating func evolve(space: SearchSpace, isFeasible: (Genotype) -> Bool, feasibleSeen: inout Bool) -> Proposal? {
    let positions = space.choices.reduce(0) { $0 + $1.options.filter { $0.count > 1 }.count }
    for level in 1...max(1, positions) {
      for _ in 0..<Self.tournamentsPerLevel {
        var mutant = tournamentWinner()
        for _ in 0..<level { mutant = space.mutate(mutant, using: &rng) }
        guard isFeasible(mutant) else { continue }
        feasibleSeen = true
        let key = space.key(of: mutant)
        if let cached = scored[key] {
          if level == 1 { age(in: cached) }
        } else if !isSeen(key) {
          return Proposal(key: key, genotype: mutant)
        }
      }
    }
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
    /// How many unscorable candidates the caller keeps beside the history (checked on
    /// restore; absent in checkpoints written before they existed: 0).
    public var unscorable: Int
    public var population: [Int]
    public var pending: [Proposal]
    public var spent: Int
    public var status: Status
    var rng: SeededGenerator

    enum CodingKeys: String, CodingKey {
      case configuration, evaluations, unscorable, population, pending, spent, status, rng
    }

    init(
      configuration: SearchConfiguration, evaluations: Int, unscorable: Int, population: [Int], pending: [Proposal],
      spent: Int, status: Status, rng: SeededGenerator
    ) {
      self.configuration = configuration
      self.evaluations = evaluations
      self.unscorable = unscorable
      self.population = population
      self.pending = pending
      self.spent = spent
      self.status = status
      self.rng = rng
    }

    public init(from decoder: any Decoder) throws {
      let c = try decoder.container(keyedBy: CodingKeys.self)
      configuration = try c.decode(SearchConfiguration.self, forKey: .configuration)
      evaluations = try c.decode(Int.self, forKey: .evaluations)
      unscorable = try c.decodeIfPresent(Int.self, forKey: .unscorable) ?? 0
      population = try c.decode([Int].self, forKey: .population)
      pending = try c.decode([Proposal].self, forKey: .pending)
      spent = try c.decode(Int.self, forKey: .spent)
      status = try c.decode(Status.self, forKey: .status)
      rng = try c.decode(SeededGenerator.self, forKey: .rng)
    }
  }

  /// The engine's state apart from its history.
  public var checkpoint: Checkpoint {
    Checkpoint(
      configuration: configuration, evaluations: history.count, unscorable: unscorable.count, population: population,
      pending: pending, spent: spent, status: status, rng: rng)
  }

  /// The engine a `checkpoint` was taken of, given its history (every scored candidate in
  /// the order it was recorded; the evaluation index is the position, 1-based) and its
  /// unscorable candidates in the order they were recorded.
  public init(
    checkpoint: Checkpoint, history: [(key: String, genotype: Genotype, score: Double)], unscorable: [Unscorable] = []
  ) throws(SearchError) {
    try checkpoint.configuration.validate()
    guard history.count == checkpoint.evaluations else {
      throw .invalidState("the checkpoint counts \(checkpoint.evaluations) evaluations, the history has \(history.count)")
    }
    guard unscorable.count == checkpoint.unscorable else {
      throw .invalidState("the checkpoint counts \(checkpoint.unscorable) unscorable candidates, \(unscorable.count) were given")
    }
    guard checkpoint.population.allSatisfy({ (0..<history.count).contains($0) }),
      checkpoint.population.count <= checkpoint.configuration.population
    else { throw .invalidState("population members outside the history") }
    let accounted = history.count + unscorable.count + checkpoint.pending.count
    guard checkpoint.spent == accounted, checkpoint.spent <= checkpoint.configuration.budget else {
      throw .invalidState(
        "spent \(checkpoint.spent) is not the \(history.count) evaluations plus \(unscorable.count) unscorable plus \(checkpoint.pending.count) pending")
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
    for u in unscorable {
      guard scored[u.key] == nil, !unscorableKeys.contains(u.key), !pending.contains(where: { $0.key == u.key }) else {
        throw .invalidState("unscorable candidate \(u.key) is repeated, scored or pending")
      }
      unscorableKeys.insert(u.key)
      self.unscorable.append(u)
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

extension SearchEngine.Status: CustomStringConvertible {
  /// `running`, `finished`, `exhausted` or `infeasible: WHY`, as reports and the daemon show it.
  public var description: String {
    switch self {
    case .running: "running"
    case .finished: "finished"
    case .exhausted: "exhausted"
    case .infeasible(let why): "infeasible: \(why)"
    }
  }
}
