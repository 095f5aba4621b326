import DiswotModels
import DiswotSearch
import DiswotTensor
import DiswotTestSupport
import XCTest

/// The engine's mechanics on search spaces, with scores from a lookup table so that every
/// assertion is about the search, not the scorer.
final class SearchEngineTests: XCTestCase {
  static func space(_ name: String) throws -> SearchSpace {
    try SearchSpace.load(path: SearchSpaces.path(name))
  }

  /// Drives a search to the end with `score`, `parallel` proposals at a time, results in
  /// proposal order.
  static func run(
    _ engine: inout SearchEngine, space: SearchSpace, parallel: Int = 1,
    isFeasible: (Genotype) -> Bool = { _ in true }, score: (Genotype) -> Double
  ) {
    while !engine.isDone {
      let batch = engine.propose(parallel, space: space, isFeasible: isFeasible)
      if batch.isEmpty && engine.pending.isEmpty { break }
      for p in batch { engine.record(key: p.key, score: score(p.genotype), space: space, isFeasible: isFeasible) }
    }
  }

  func testTournamentPicksTheBestOfTheSampleAndTheOldestDies() throws {
    let s1 = try Self.space("resnet-cifar-depth")
    // P = S = 3: every tournament sees the whole population, so each child is a mutant of
    // the current best; scores = total depth, so the best member is the deepest. W = 1:
    // the sequential algorithm, each proposal made from every result before it.
    var engine = try SearchEngine(configuration: SearchConfiguration(population: 3, sample: 3, budget: 12, seed: 1, window: 1))
    let depth = { (g: Genotype) in Double(s1.json(of: g).objectValue!["depths"]!.arrayValue!.map { $0.intValue! }.reduce(0, +)) }
    for _ in 0..<3 {
      let batch = engine.propose(5, space: s1) { _ in true }
      XCTAssertEqual(batch.count, 1, "one in flight")
      for p in batch { engine.record(key: p.key, score: depth(p.genotype), space: s1) { _ in true } }
    }
    XCTAssertEqual(engine.population, [0, 1, 2])
    let bestBefore = engine.history.map(\.score).max()!
    let child = try XCTUnwrap(engine.propose(1, space: s1) { _ in true }.first)
    let parentCandidates = engine.history.filter { $0.score == bestBefore }.map(\.genotype)
    XCTAssertTrue(parentCandidates.contains { differsInOnePosition($0, child.genotype) }, "child of the tournament winner")
    engine.record(key: child.key, score: depth(child.genotype), space: s1) { _ in true }
    XCTAssertEqual(engine.population, [1, 2, 3], "the oldest member died")
  }

  /// No tournament before a member of the initial population is scored: the first P
  /// proposals are all the engine makes, whatever the window.
  func testInitialPopulationComesFirst() throws {
    let s1 = try Self.space("resnet-cifar-depth")
    var engine = try SearchEngine(configuration: SearchConfiguration(population: 3, sample: 3, budget: 12, seed: 1, window: 8))
    XCTAssertEqual(engine.propose(5, space: s1) { _ in true }.count, 3)
    XCTAssertEqual(engine.pending.count, 3)
  }

  func testMutantsAreMembersDifferingInOneActivePosition() throws {
    var rng = SeededGenerator(seed: 4)
    for name in ["resnet-cifar-depth", "resnet-cifar", "nas-bench-201", "mobilenetv2"] {
      let s = try Self.space(name)
      for _ in 0..<200 {
        let parent = s.sample(using: &rng)
        let child = s.mutate(parent, using: &rng)
        XCTAssertNotEqual(s.key(of: child), s.key(of: parent), name)
        XCTAssertEqual(try s.genotype(fromJSON: s.json(of: child)), child, "\(name): a member of its space")
        if name != "mobilenetv2" { XCTAssertTrue(differsInOnePosition(parent, child), name) }
      }
    }
  }

  /// A MACs budget: no proposal, over many seeds and both strategies, is infeasible.
  func testConstraintsAreNeverViolated() throws {
    let big = try Self.space("resnet-cifar")
    var macsCache: [Genotype: Int] = [:]
    let macs = { (g: Genotype) -> Int in
      if let m = macsCache[g] { return m }
      let m = try! big.build(g).macs(height: 32, width: 32)
      macsCache[g] = m
      return m
    }
    let limit = 20_000_000
    for seed in 0..<6 {
      for strategy in SearchConfiguration.Strategy.allCases {
        var engine = try SearchEngine(configuration: SearchConfiguration(strategy: strategy, population: 8, sample: 3, budget: 30, seed: UInt64(seed)))
        var proposed = 0
        Self.run(&engine, space: big, parallel: 3, isFeasible: { macs($0) <= limit }) { g in
          proposed += 1
          XCTAssertLessThanOrEqual(macs(g), limit)
          return Double(macs(g))
        }
        XCTAssertEqual(proposed, 30)
        XCTAssertEqual(engine.status, .finished)
      }
    }
  }

  func testUnsatisfiableConstraintsAreReported() throws {
    let s1 = try Self.space("resnet-cifar-depth")
    var engine = try SearchEngine(configuration: SearchConfiguration(population: 4, sample: 2, budget: 10, seed: 0, maxAttempts: 500))
    XCTAssertTrue(engine.propose(4, space: s1) { _ in false }.isEmpty)
    guard case .infeasible = engine.status else { return XCTFail("\(engine.status)") }
    XCTAssertTrue(engine.isDone)
  }

  func testResultsInAnyOrderAndIgnoredDuplicates() throws {
    let s1 = try Self.space("resnet-cifar-depth")
    var engine = try SearchEngine(configuration: SearchConfiguration(population: 6, sample: 2, budget: 20, seed: 2))
    let all = { (_: Genotype) in true }
    let batch = engine.propose(6, space: s1, isFeasible: all)
    XCTAssertEqual(Set(batch.map(\.key)).count, 6, "no duplicate proposals")
    for p in batch.reversed().dropLast() {
      XCTAssertTrue(engine.record(key: p.key, score: Double(p.key.count), space: s1, isFeasible: all))
    }
    XCTAssertTrue(engine.history.isEmpty, "later results wait for the first")
    XCTAssertFalse(engine.record(key: batch[1].key, score: 1, space: s1, isFeasible: all), "already arrived")
    XCTAssertTrue(engine.record(key: batch[0].key, score: Double(batch[0].key.count), space: s1, isFeasible: all))
    XCTAssertEqual(engine.history.map(\.key), batch.map(\.key), "applied in proposal order")
    XCTAssertFalse(engine.record(key: batch[0].key, score: 1, space: s1, isFeasible: all), "already scored")
    XCTAssertFalse(engine.record(key: "depths=2,2,2;widths=16,32,64", score: 1, space: s1, isFeasible: all), "never proposed")
    let unsent = try XCTUnwrap(engine.pending.last)
    XCTAssertGreaterThan(engine.pending.count, engine.handedOut)
    XCTAssertFalse(engine.record(key: unsent.key, score: 1, space: s1, isFeasible: all), "not handed out yet")
    XCTAssertEqual(engine.history.count, 6)
  }

  /// Issue 11, item 9: the same configuration and scores give the same search whatever the
  /// number of evaluators and the order results arrive in — history, population, best and
  /// final state all equal to one evaluator scoring one candidate at a time.
  func testTheSameSearchWhateverTheTimingOfResults() throws {
    let nb = try Self.space("nas-bench-201")
    let score = { (g: Genotype) in Double(nb.key(of: g).filter { $0 == "3" }.count) + Double(g.choices[0][0]) / 10 }
    let all = { (_: Genotype) in true }
    for strategy in SearchConfiguration.Strategy.allCases {
      for window in [1, 3, 8] {
        let configuration = SearchConfiguration(strategy: strategy, population: 10, sample: 3, budget: 80, seed: 3, window: window)
        var sequential = try SearchEngine(configuration: configuration)
        Self.run(&sequential, space: nb, parallel: 1, score: score)
        XCTAssertEqual(sequential.history.count, 80)
        var rng = SeededGenerator(seed: UInt64(window))
        for workers in [2, 5] {
          // `workers` evaluators each holding up to two candidates; each step one of them
          // returns a random candidate it holds, then takes more.
          var engine = try SearchEngine(configuration: configuration)
          var held: [[SearchEngine.Proposal]] = Array(repeating: [], count: workers)
          var steps = 0
          while !engine.isDone, steps < 10_000 {
            steps += 1
            for w in 0..<workers where held[w].count < 2 {
              held[w] += engine.propose(2 - held[w].count, space: nb, isFeasible: all)
            }
            let busy = (0..<workers).filter { !held[$0].isEmpty }
            guard !busy.isEmpty else { break }
            let w = busy[Int(rng.next() % UInt64(busy.count))]
            let p = held[w].remove(at: Int(rng.next() % UInt64(held[w].count)))
            XCTAssertTrue(engine.record(key: p.key, score: score(p.genotype), space: nb, isFeasible: all))
          }
          let context = "\(strategy), window \(window), \(workers) workers"
          XCTAssertEqual(engine.history, sequential.history, context)
          XCTAssertEqual(engine.population, sequential.population, context)
          XCTAssertEqual(engine.best, sequential.best, context)
          XCTAssertEqual(engine, sequential, context)
        }
      }
    }
  }

  /// A candidate that cannot be scored spends its evaluation in its turn, never enters the
  /// history and is never proposed again; the rest of the search is what it would be
  /// with that candidate's slot spent.
  func testUnscorableCandidatesSpendBudgetInOrder() throws {
    let s1 = try Self.space("resnet-cifar-depth")
    let all = { (_: Genotype) in true }
    var engine = try SearchEngine(configuration: SearchConfiguration(strategy: .random, population: 4, sample: 2, budget: 30, seed: 6, window: 4))
    let batch = engine.propose(4, space: s1, isFeasible: all)
    XCTAssertTrue(engine.record(key: batch[1].key, score: 2, space: s1, isFeasible: all))
    XCTAssertTrue(engine.recordUnscorable(key: batch[0].key, reason: "test", space: s1, isFeasible: all))
    XCTAssertFalse(engine.recordUnscorable(key: batch[0].key, reason: "test", space: s1, isFeasible: all), "already settled")
    XCTAssertEqual(engine.unscorable.map(\.key), [batch[0].key])
    XCTAssertEqual(engine.history.map(\.key), [batch[1].key])
    for p in batch[2...] { engine.record(key: p.key, score: 1, space: s1, isFeasible: all) }
    while !engine.isDone {
      let next = engine.propose(4, space: s1, isFeasible: all)
      if next.isEmpty { break }
      for p in next { engine.record(key: p.key, score: 1, space: s1, isFeasible: all) }
    }
    XCTAssertEqual(engine.spent, 30)
    XCTAssertEqual(engine.history.count + engine.unscorable.count, 30)
    XCTAssertFalse(engine.history.contains { $0.key == batch[0].key }, "never proposed again")
    let checkpoint = try JSONDecoder().decode(SearchEngine.Checkpoint.self, from: JSONEncoder().encode(engine.checkpoint))
    let restored = try SearchEngine(
      checkpoint: checkpoint, history: engine.history.map { ($0.key, $0.genotype, $0.score) }, unscorable: engine.unscorable)
    XCTAssertEqual(restored, engine)
  }

  /// Checkpoint half-way, restore from JSON, continue: identical to an uninterrupted search.
  func testCheckpointRestoresExactly() throws {
    let nb = try Self.space("nas-bench-201")
    let score = { (g: Genotype) in Double(nb.key(of: g).filter { $0 == "3" }.count) + Double(g.choices[0][0]) / 10 }
    let configuration = SearchConfiguration(population: 10, sample: 3, budget: 60, seed: 9)
    var uninterrupted = try SearchEngine(configuration: configuration)
    Self.run(&uninterrupted, space: nb, parallel: 4, score: score)

    var first = try SearchEngine(configuration: configuration)
    for _ in 0..<7 {
      for p in first.propose(4, space: nb, isFeasible: { _ in true }) { first.record(key: p.key, score: score(p.genotype), space: nb) { _ in true } }
    }
    let pendingBatch = first.propose(4, space: nb) { _ in true }  // outstanding at checkpoint time
    let data = try JSONEncoder().encode(first)
    var restored = try JSONDecoder().decode(SearchEngine.self, from: data)
    XCTAssertEqual(restored, first)
    for p in pendingBatch { restored.record(key: p.key, score: score(p.genotype), space: nb) { _ in true } }
    Self.run(&restored, space: nb, parallel: 4, score: score)
    XCTAssertEqual(restored.history, uninterrupted.history)
    XCTAssertEqual(restored.best, uninterrupted.best)
  }

  func testInvalidConfigurationsAreRejected() {
    XCTAssertThrowsError(try SearchEngine(configuration: SearchConfiguration(population: 0)))
    XCTAssertThrowsError(try SearchEngine(configuration: SearchConfiguration(population: 5, sample: 6)))
    XCTAssertThrowsError(try SearchEngine(configuration: SearchConfiguration(budget: 0)))
  }
}

/// True when two genotypes differ at exactly one position.
func differsInOnePosition(_ a: Genotype, _ b: Genotype) -> Bool {
  zip(a.choices, b.choices).map { zip($0, $1).filter { $0 != $1 }.count }.reduce(0, +) == 1
}
