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
      for p in batch { engine.record(key: p.key, score: score(p.genotype)) }
    }
  }

  func testTournamentPicksTheBestOfTheSampleAndTheOldestDies() throws {
    let s1 = try Self.space("resnet-cifar-depth")
    // P = S = 3: every tournament sees the whole population, so each child is a mutant of
    // the current best; scores = total depth, so the best member is the deepest.
    var engine = try SearchEngine(configuration: SearchConfiguration(population: 3, sample: 3, budget: 12, seed: 1))
    let depth = { (g: Genotype) in Double(s1.json(of: g).objectValue!["depths"]!.arrayValue!.map { $0.intValue! }.reduce(0, +)) }
    let initial = engine.propose(5, space: s1) { _ in true }
    XCTAssertEqual(initial.count, 3, "no tournament before the initial population is scored")
    for p in initial { engine.record(key: p.key, score: depth(p.genotype)) }
    XCTAssertEqual(engine.population, [0, 1, 2])
    let bestBefore = engine.history.map(\.score).max()!
    let child = try XCTUnwrap(engine.propose(1, space: s1) { _ in true }.first)
    let parentCandidates = engine.history.filter { $0.score == bestBefore }.map(\.genotype)
    XCTAssertTrue(parentCandidates.contains { differsInOnePosition($0, child.genotype) }, "child of the tournament winner")
    engine.record(key: child.key, score: depth(child.genotype))
    XCTAssertEqual(engine.population, [1, 2, 3], "the oldest member died")
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
    let batch = engine.propose(6, space: s1) { _ in true }
    XCTAssertEqual(Set(batch.map(\.key)).count, 6, "no duplicate proposals")
    for p in batch.reversed() { XCTAssertTrue(engine.record(key: p.key, score: Double(p.key.count))) }
    XCTAssertFalse(engine.record(key: batch[0].key, score: 1), "already scored")
    XCTAssertFalse(engine.record(key: "depths=2,2,2;widths=16,32,64", score: 1), "never proposed")
    XCTAssertEqual(engine.history.count, 6)
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
      for p in first.propose(4, space: nb, isFeasible: { _ in true }) { first.record(key: p.key, score: score(p.genotype)) }
    }
    let pendingBatch = first.propose(4, space: nb) { _ in true }  // outstanding at checkpoint time
    let data = try JSONEncoder().encode(first)
    var restored = try JSONDecoder().decode(SearchEngine.self, from: data)
    XCTAssertEqual(restored, first)
    for p in pendingBatch { restored.record(key: p.key, score: score(p.genotype)) }
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
