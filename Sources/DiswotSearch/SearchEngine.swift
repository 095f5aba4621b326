import DiswotModels
import DiswotTensor

/// Aging (regularised) evolution (Real et al., AAAI 2019) and random search, as a pure
/// state machine: no I/O, no clocks, no threads.
///
/// The engine is asynchronous by design, yet its decisions do not depend on timing. It
/// keeps `configuration.window` (W) proposals generated ahead of the results it has
/// applied; `propose` hands them out in order, up to N at a time, so W evaluators can be
/// kept busy; `record` accepts their scores in any order but applies them in proposal
/// order, generating the next proposal right after each one is applied. Proposal n is thus
/// always made from the state after exactly n − W results, and the same configuration
/// with the same scores gives the same search — with one evaluator or many, whichever
/// finishes first. A score for an unknown, not yet handed out or already-scored key is
/// ignored. Everything it knows is in this `Codable` value, so a checkpoint taken between
/// any two calls restores it exactly.
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

  /// A candidate that could not be scored, in the order such candidates were applied.
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

  /// What came back for a handed-out proposal, waiting for its turn.
  public enum Arrival: Sendable, Codable, Equatable {
    case score(Double)
    case unscorable(reason: String)
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
  /// Indices into `history`, oldest first; at most `configuration.population` long.
  public private(set) var population: [Int] = []
  /// Proposed, not yet applied, in proposal order: results are applied from the front.
  public private(set) var pending: [Proposal] = []
  /// How many of `pending` (always a prefix) `propose` has handed out.
  public private(set) var handedOut = 0
  /// Outcomes that arrived for handed-out proposals behind the oldest, waiting their turn.
  public private(set) var arrived: [String: Arrival] = [:]
  /// Proposals that could not be scored, in the order they were applied: they spent
  /// budget, never enter the history or the population, and are never proposed again.
  public private(set) var unscorable: [Unscorable] = []
  /// Evaluations spent (proposals made), never more than the budget.
  public private(set) var spent = 0
  public private(set) var status: Status = .running
  /// The search for the next candidate, while a call that was asked to yield left it
  /// unfinished (see `propose`).
  public private(set) var hunt: Hunt?
  private var rng: SeededGenerator
  /// key → index into `history`, for de-duplication and the score cache.
  private var scored: [String: Int] = [:]
  /// `unscorable` as a set, for de-duplication.
  private var unscorableKeys: Set<String> = []

  public init(configuration: SearchConfiguration) throws(SearchError) {
    try configuration.validate()
    self.configuration = configuration
    rng = SeededGenerator(seed: configuration.seed ^ 0x5345_4152_4348)  // "SEARCH"
  }

  /// True once no more proposals will come and none are outstanding.
  public var isDone: Bool { status != .running && pending.isEmpty }

  /// True while the search for a candidate is under way across calls: call `propose` (or
  /// `record`) again to carry it on; scores wait in `arrived` until it is over, so the
  /// candidate found is the one an uninterrupted call would have found.
  public var isHunting: Bool { hunt != nil }

  /// Where the search for the next candidate stands when a `propose` call yielded before
  /// finding one. The next call resumes exactly there, drawing the same random numbers an
  /// uninterrupted call would have drawn, so where (and whether) calls yield changes how
  /// long a search takes to find a candidate, never which candidate it finds.
  public struct Hunt: Sendable, Codable, Equatable {
    public enum Stage: Sendable, Codable, Equatable {
      /// Evolution's escalating mutation (see `evolve`): the level, and the tournaments tried at it.
      case mutation(level: Int, tried: Int)
      /// Uniform samples drawn so far.
      case sampling(drawn: Int)
      /// The scan of an enumerable space in a random order: the generator as the scan began
      /// (to replay its shuffle) and the architectures examined.
      case enumeration(start: SeededGenerator, examined: Int)
    }
    public var stage: Stage
    /// Whether an architecture meeting the constraints was met (`exhausted` rather than
    /// `infeasible` if nothing new is found).
    public var feasibleSeen: Bool
  }

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

  /// The highest-scoring evaluation (the earliest among equals).
  public var best: Evaluation? { history.max { a, b in a.score < b.score || (a.score == b.score && a.index > b.index) } }

  /// The k best distinct architectures, best first.
  public func best(_ k: Int) -> [Evaluation] {
    Array(history.sorted { $0.score > $1.score || ($0.score == $1.score && $0.index < $1.index) }.prefix(k))
  }

  /// After how many evaluations the final best was first seen.
  public var evaluationsToBest: Int? { best?.index }

  /// Up to `count` candidates not handed out before, oldest first (fewer, or none, while
  /// W are out waiting for scores). `isFeasible` says whether an architecture meets the
  /// constraints; infeasible ones are never proposed. Pass the same space and feasibility
  /// to every `propose` and `record` of a search.
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
  /// The work per candidate is bounded (at most `tournamentsPerLevel` × positions mutants,
  /// `maxAttempts` samples and a pass over the enumeration; per call at most one enumeration
  /// of ≤ `enumerationLimit` genotypes), but `maxAttempts` feasibility checks can take
  /// minutes (each new architecture is built to count its cost). A caller that must stay
  /// responsive (the daemon's event loop) passes `shouldYield`: asked before every check but
  /// the call's first, it stops the call when it says so, and the search for the candidate
  /// is kept in `hunt` for the next call (`propose` or `record`) to carry on exactly
  /// (`isHunting`). Yielding never
  /// changes which candidates are proposed, only over how many calls. The enumeration lives
  /// only for the call (a function of the space, which the engine does not hold), so the
  /// engine stays a pure function of its configuration and the calls made on it.
  public mutating func propose(
    _ count: Int, space: SearchSpace, yieldingWhen shouldYield: () -> Bool = { false }, isFeasible: (Genotype) -> Bool
  ) -> [Proposal] {
    advance(space: space, yieldingWhen: shouldYield, isFeasible: isFeasible)
    let end = min(pending.count, handedOut + max(0, count))
    let proposals = Array(pending[handedOut..<end])
    handedOut = end
    return proposals
  }

  /// Generates proposals until W are out (or the budget or the space runs out), then
  /// applies every score that is next in proposal order, generating after each: the one
  /// place where the engine decides anything, so decisions happen at the same points
  /// whatever the timing of the calls. Stops where a hunt yields; the next call resumes it
  /// before applying anything more.
  private mutating func advance(space: SearchSpace, yieldingWhen shouldYield: () -> Bool, isFeasible: (Genotype) -> Bool) {
    withoutActuallyEscaping(shouldYield) { shouldYield in
      var work = Work(shouldYield: shouldYield)
      var enumeration: Enumeration?
      // False when a hunt yielded.
      func fill() -> Bool {
        while pending.count < configuration.window, status == .running, spent < configuration.budget {
          guard let proposal = nextProposal(space: space, isFeasible: isFeasible, enumeration: &enumeration, work: &work) else {
            return hunt == nil
          }
          pending.append(proposal)
          spent += 1
        }
        return true
      }
      guard fill() else { return }
      while let head = pending.first, let arrival = arrived.removeValue(forKey: head.key) {
        pending.removeFirst()
        handedOut -= 1
        switch arrival {
        case .score(let score):
          scored[head.key] = history.count
          history.append(Evaluation(key: head.key, genotype: head.genotype, score: score, index: history.count + 1))
          age(in: history.count - 1)
        case .unscorable(let reason):
          unscorable.append(Unscorable(key: head.key, genotype: head.genotype, reason: reason))
          unscorableKeys.insert(head.key)
        }
        guard fill() else { return }
      }
    }
    if spent == configuration.budget && status == .running && pending.isEmpty { status = .finished }
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

  /// Records the score of a handed-out proposal; it is applied once every earlier
  /// proposal's score is in (see the type's comment). A score that is not finite makes the
  /// candidate unscorable (`recordUnscorable`). Returns false, and changes nothing, for a
  /// key that is not pending and handed out, or a key whose outcome already arrived.
  /// `shouldYield` bounds the work of the proposals this may generate, as in `propose`.
  @discardableResult
  public mutating func record(
    key: String, score: Double, space: SearchSpace, yieldingWhen shouldYield: () -> Bool = { false },
    isFeasible: (Genotype) -> Bool
  ) -> Bool {
    guard score.isFinite else {
      return recordUnscorable(
        key: key, reason: "its objective is not finite (\(score))", space: space, yieldingWhen: shouldYield, isFeasible: isFeasible)
    }
    guard arrived[key] == nil, let i = pending.firstIndex(where: { $0.key == key }), i < handedOut else { return false }
    arrived[key] = .score(score)
    advance(space: space, yieldingWhen: shouldYield, isFeasible: isFeasible)
    return true
  }

  /// Records that a handed-out proposal cannot be scored, and why: applied in proposal
  /// order like a score, it spends its evaluation without entering the history or the
  /// population, and is never proposed again. Returns false, and changes nothing, where
  /// `record` would.
  @discardableResult
  public mutating func recordUnscorable(
    key: String, reason: String, space: SearchSpace, yieldingWhen shouldYield: () -> Bool = { false },
    isFeasible: (Genotype) -> Bool
  ) -> Bool {
    guard arrived[key] == nil, let i = pending.firstIndex(where: { $0.key == key }), i < handedOut else { return false }
    arrived[key] = .unscorable(reason: reason)
    advance(space: space, yieldingWhen: shouldYield, isFeasible: isFeasible)
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

  /// The space's architectures with their keys, in enumeration order; built at most once
  /// per `propose` call and never stored in the engine.
  struct Enumeration {
    var candidates: [(key: String, genotype: Genotype)]
  }

  /// Counts a call's feasibility checks and asks its caller whether to yield before each
  /// but the first (so every call makes progress).
  struct Work {
    let shouldYield: () -> Bool
    var checks = 0

    mutating func yields() -> Bool {
      defer { checks += 1 }
      return checks > 0 && shouldYield()
    }
  }

  /// The next candidate; nil when the engine waits for scores (evolution's initial
  /// population out), found none (`status` says why), or yielded (`hunt` says where).
  private mutating func nextProposal(
    space: SearchSpace, isFeasible: (Genotype) -> Bool, enumeration: inout Enumeration?, work: inout Work
  ) -> Proposal? {
    var hunt: Hunt
    if let unfinished = self.hunt {
      hunt = unfinished
    } else if configuration.strategy == .evolution {
      let drawn = history.count + pending.count
      if drawn < configuration.population || population.isEmpty {
        // The initial population is random; once it is all out, tournaments need its scores.
        if drawn >= configuration.population { return nil }
        hunt = Hunt(stage: .sampling(drawn: 0), feasibleSeen: false)
      } else {
        hunt = Hunt(stage: .mutation(level: 1, tried: 0), feasibleSeen: false)
      }
    } else {
      hunt = Hunt(stage: .sampling(drawn: 0), feasibleSeen: false)
    }
    self.hunt = nil

    if case .mutation(let level, let tried) = hunt.stage {
      switch evolve(space: space, isFeasible: isFeasible, from: (level, tried), hunt: &hunt, work: &work) {
      case .found(let child): return child
      case .yielded:
        self.hunt = hunt
        return nil
      case .none: hunt.stage = .sampling(drawn: 0)
      }
    }

    // Uniform samples: random search, the initial population, immigrants. In an
    // enumerable space more samples than it has architectures cost more than enumerating.
    let combinations = space.choices.reduce(1.0) { total, choice in choice.options.reduce(total) { $0 * Double($1.count) } }
    let enumerable = combinations <= Double(Self.enumerationLimit)
    if case .sampling(let drawn) = hunt.stage {
      let samples = enumerable ? min(configuration.maxAttempts, max(1, Int(space.size))) : configuration.maxAttempts
      for k in drawn..<max(drawn, samples) {
        if work.yields() {
          hunt.stage = .sampling(drawn: k)
          self.hunt = hunt
          return nil
        }
        let candidate = space.sample(using: &rng)
        guard isFeasible(candidate) else { continue }
        hunt.feasibleSeen = true
        let key = space.key(of: candidate)
        if !isSeen(key) { return Proposal(key: key, genotype: candidate) }
      }
      guard enumerable else {
        status = hunt.feasibleSeen || !history.isEmpty || !pending.isEmpty || !unscorable.isEmpty ? .exhausted
          : .infeasible("no architecture meeting the constraints in \(configuration.maxAttempts) tries")
        return nil
      }
      hunt.stage = .enumeration(start: rng, examined: 0)
    }

    guard case .enumeration(let start, let examined) = hunt.stage else { return nil }
    if enumeration == nil, let all = try? space.enumerate(limit: Self.enumerationLimit) {
      enumeration = Enumeration(candidates: all.map { (key: space.key(of: $0), genotype: $0) })
    }
    // A uniformly random order of the unseen architectures, drawn lazily (Fisher–Yates):
    // its first feasible one is uniform among the feasible unseen ones. Nothing is
    // proposed while the scan is under way, so the unseen ones are the same on resuming,
    // and the swaps already made are replayed from the generator the scan began with.
    let pendingKeys = Set(pending.map(\.key))
    var unseen = (enumeration?.candidates ?? []).filter {
      scored[$0.key] == nil && !unscorableKeys.contains($0.key) && !pendingKeys.contains($0.key)
    }
    var replay = start
    for i in 0..<min(examined, unseen.count) { unseen.swapAt(i, i + Int(replay.next() % UInt64(unseen.count - i))) }
    for i in min(examined, unseen.count)..<unseen.count {
      if work.yields() {
        hunt.stage = .enumeration(start: start, examined: i)
        self.hunt = hunt
        return nil
      }
      unseen.swapAt(i, i + Int(rng.next() % UInt64(unseen.count - i)))
      if isFeasible(unseen[i].genotype) { return Proposal(key: unseen[i].key, genotype: unseen[i].genotype) }
    }
    // Every feasible architecture is scored or pending — or there is none at all.
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
  private mutating func evolve(
    space: SearchSpace, isFeasible: (Genotype) -> Bool, from resume: (level: Int, tried: Int), hunt: inout Hunt, work: inout Work
  ) -> Evolved {
    let positions = space.choices.reduce(0) { $0 + $1.options.filter { $0.count > 1 }.count }
    for level in resume.level...max(resume.level, max(1, positions)) {
      for tried in (level == resume.level ? resume.tried : 0)..<Self.tournamentsPerLevel {
        if work.yields() {
          hunt.stage = .mutation(level: level, tried: tried)
          return .yielded
        }
        var mutant = tournamentWinner()
        for _ in 0..<level { mutant = space.mutate(mutant, using: &rng) }
        guard isFeasible(mutant) else { continue }
        hunt.feasibleSeen = true
        let key = space.key(of: mutant)
        if let cached = scored[key] {
          if level == 1 { age(in: cached) }
        } else if !isSeen(key) {
          return .found(Proposal(key: key, genotype: mutant))
        }
      }
    }
    return .none
  }

  /// What escalating mutation came to.
  private enum Evolved {
    case found(Proposal)
    /// Nothing unseen at any level.
    case none
    /// Asked to yield; `hunt` says where it stopped.
    case yielded
  }

  // MARK: - Checkpoints without the history

  /// Everything of the engine except its history, for callers that keep the history
  /// themselves, in order (the daemon's evaluations table): its size does not grow with
  /// the search, so it can be written with every evaluation. Scores that arrived out of
  /// order and are not yet applied are not part of it (the caller has stored only applied
  /// ones): a restored engine hands every pending proposal out again, and their scores,
  /// the same numbers, are applied in order when they come back.
  public struct Checkpoint: Sendable, Codable, Equatable {
    public var configuration: SearchConfiguration
    /// How many evaluations the history holds (checked on restore).
    public var evaluations: Int
    public var population: [Int]
    public var pending: [Proposal]
    /// How many unscorable candidates the caller keeps beside the history (checked on
    /// restore; absent in checkpoints written before they existed: 0).
    public var unscorable: Int
    public var spent: Int
    public var status: Status
    /// A search for a candidate under way (absent in checkpoints of older versions).
    public var hunt: Hunt?
    var rng: SeededGenerator

    enum CodingKeys: String, CodingKey {
      case configuration, evaluations, population, pending, unscorable, spent, status, hunt, rng
    }

    init(
      configuration: SearchConfiguration, evaluations: Int, population: [Int], pending: [Proposal],
      unscorable: Int, spent: Int, status: Status, hunt: Hunt?, rng: SeededGenerator
    ) {
      self.configuration = configuration
      self.evaluations = evaluations
      self.population = population
      self.pending = pending
      self.unscorable = unscorable
      self.spent = spent
      self.status = status
      self.hunt = hunt
      self.rng = rng
    }

    public init(from decoder: Decoder) throws {
      let c = try decoder.container(keyedBy: CodingKeys.self)
      configuration = try c.decode(SearchConfiguration.self, forKey: .configuration)
      evaluations = try c.decode(Int.self, forKey: .evaluations)
      population = try c.decode([Int].self, forKey: .population)
      pending = try c.decode([Proposal].self, forKey: .pending)
      unscorable = try c.decodeIfPresent(Int.self, forKey: .unscorable) ?? 0
      spent = try c.decode(Int.self, forKey: .spent)
      status = try c.decode(Status.self, forKey: .status)
      hunt = try c.decodeIfPresent(Hunt.self, forKey: .hunt)
      rng = try c.decode(SeededGenerator.self, forKey: .rng)
    }
  }

  /// The engine's state apart from its history.
  public var checkpoint: Checkpoint {
    Checkpoint(
      configuration: configuration, evaluations: history.count, population: population, pending: pending,
      unscorable: unscorable.count, spent: spent, status: status, hunt: hunt, rng: rng)
  }

  /// The engine a `checkpoint` was taken of, given its history (every scored candidate in
  /// the order it was applied; the evaluation index is the position, 1-based) and its
  /// unscorable candidates in the order they were applied.
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
    handedOut = 0
    spent = checkpoint.spent
    status = checkpoint.status
    if let hunt = checkpoint.hunt {
      switch hunt.stage {
      case .mutation(let level, let tried) where level >= 1 && (0..<Self.tournamentsPerLevel).contains(tried): break
      case .sampling(let drawn) where drawn >= 0: break
      case .enumeration(_, let examined) where examined >= 0: break
      default: throw .invalidState("a search for a candidate at an impossible stage: \(hunt.stage)")
      }
      guard status == .running else { throw .invalidState("a search for a candidate in an engine that is \(status)") }
    }
    hunt = checkpoint.hunt
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
