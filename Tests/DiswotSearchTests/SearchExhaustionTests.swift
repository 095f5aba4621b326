import DiswotModels
import DiswotSearch
import DiswotTensor
import DiswotTestSupport
import Foundation
import XCTest

/// The stopping rule (issue 10, item 4): a search stops before its budget is spent only
/// when every feasible architecture has been scored, and each `propose` call does bounded
/// work. Real engine and real search spaces; scores from closed-form functions.
final class SearchExhaustionTests: XCTestCase {
  /// S1 stage depths as option indices (0…3 for 1, 3, 5, 7 blocks).
  static func depthIndices(_ g: Genotype) -> [Int] { g.choices[0] }

  /// Score functions on S1, each with a name for failure messages.
  static let scoreFunctions: [(name: String, score: @Sendable (Genotype) -> Double)] = [
    // What triggered the bug: one dominant architecture, its neighbours strong, score
    // falling with the distance from it.
    ("dominant (5,3,7) with strong neighbours", { g in
      let d = depthIndices(g), peak = [2, 1, 3]
      let hamming = zip(d, peak).filter { $0 != $1 }.count
      let l1 = zip(d, peak).map { abs($0 - $1) }.reduce(0, +)
      return 100 - 10 * Double(hamming) - Double(l1)
    }),
    ("dominant (1,1,1) with strong neighbours", { g in
      let d = depthIndices(g)
      return 100 - 10 * Double(d.filter { $0 != 0 }.count) - Double(d.reduce(0, +))
    }),
    ("total depth", { g in Double(depthIndices(g).reduce(0, +)) }),
    ("all equal", { _ in 1 }),
    ("pseudo-random table", { g in
      let d = depthIndices(g)
      var rng = SeededGenerator(seed: UInt64(d[0] * 16 + d[1] * 4 + d[2]) &+ 77)
      return Double(rng.next() % 10_000)
    }),
  ]

  /// Evolution with a budget of 24 on the 64 architectures of S1 spends all 24, whatever
  /// the scores, the seed, the number of proposals in flight and `maxAttempts` (the
  /// daemon's `--space resnet-cifar-depth --budget 24` stopped "exhausted" after 16; the
  /// old engine also stopped early here with `maxAttempts` 10, e.g. 14 of 24 for the
  /// first score function, seed 15, 3 in flight with results in a random order).
  func testEvolutionSpendsTheWholeBudgetOnS1() throws {
    let s1 = try SearchEngineTests.space("resnet-cifar-depth")
    for (name, score) in Self.scoreFunctions {
      for seed in 0..<20 as Range<UInt64> {
        for (parallel, maxAttempts) in [(1, 10_000), (4, 10_000), (2, 10), (3, 10), (3, 1)] {
          var engine = try SearchEngine(configuration: SearchConfiguration(
            population: 10, sample: 3, budget: 24, seed: seed, maxAttempts: maxAttempts))
          // Up to `parallel` in flight; one or two results arrive at a time, in any order.
          var rng = SeededGenerator(seed: seed &+ 1000)
          var calls = 0
          while !engine.isDone, calls < 1_000 {
            calls += 1
            _ = engine.propose(parallel - (engine.handedOut - engine.arrived.count), space: s1) { _ in true }
            let out = engine.pending.prefix(engine.handedOut).filter { engine.arrived[$0.key] == nil }
            for p in out.shuffled(using: &rng).prefix(1 + Int(rng.next() % 2)) {
              engine.record(key: p.key, score: score(p.genotype), space: s1) { _ in true }
            }
          }
          let context = "\(name), seed \(seed), parallel \(parallel), maxAttempts \(maxAttempts)"
          XCTAssertEqual(engine.history.count, 24, context)
          XCTAssertEqual(Set(engine.history.map(\.key)).count, 24, context)
          XCTAssertEqual(engine.status, .finished, context)
        }
      }
    }
  }

  /// A budget of the whole space scores every architecture and ends `finished`; a larger
  /// one scores every architecture and ends `exhausted`. Both strategies.
  func testWholeSpaceBudgetScoresEveryArchitecture() throws {
    let s1 = try SearchEngineTests.space("resnet-cifar-depth")
    let all = Set(try s1.enumerate().map { s1.key(of: $0) })
    XCTAssertEqual(all.count, 64)
    for strategy in SearchConfiguration.Strategy.allCases {
      for (name, score) in Self.scoreFunctions {
        for seed in 0..<5 as Range<UInt64> {
          for (budget, status) in [(64, SearchEngine.Status.finished), (100, .exhausted)] {
            var engine = try SearchEngine(configuration: SearchConfiguration(
              strategy: strategy, population: 10, sample: 3, budget: budget, seed: seed))
            SearchEngineTests.run(&engine, space: s1, parallel: 3, score: score)
            let context = "\(strategy), \(name), seed \(seed), budget \(budget)"
            XCTAssertEqual(engine.history.count, 64, context)
            XCTAssertEqual(Set(engine.history.map(\.key)), all, context)
            XCTAssertEqual(engine.status, status, context)
            XCTAssertTrue(engine.isDone, context)
          }
        }
      }
    }
  }

  /// Constraints admitting only k architectures: the search scores exactly those and ends
  /// `exhausted`, with bounded work (feasibility checks counted) and time.
  func testConstraintsAdmittingFewArchitecturesAreExhausted() throws {
    let s1 = try SearchEngineTests.space("resnet-cifar-depth")
    let keys = try s1.enumerate().map { s1.key(of: $0) }
    var rng = SeededGenerator(seed: 3)
    for k in [1, 2, 5, 12] {
      let admitted = Set(keys.shuffled(using: &rng).prefix(k))
      for strategy in SearchConfiguration.Strategy.allCases {
        for seed in 0..<4 as Range<UInt64> {
          var engine = try SearchEngine(configuration: SearchConfiguration(
            strategy: strategy, population: 10, sample: 3, budget: 24, seed: seed))
          var checks = 0
          var calls = 0
          let start = ContinuousClock.now
          while !engine.isDone, calls < 1_000 {
            calls += 1
            let batch = engine.propose(2, space: s1) { g in
              checks += 1
              return admitted.contains(s1.key(of: g))
            }
            if batch.isEmpty && engine.pending.isEmpty { break }
            for p in batch { engine.record(key: p.key, score: Double(p.key.count), space: s1) { g in admitted.contains(s1.key(of: g)) } }
          }
          let context = "k \(k), \(strategy), seed \(seed)"
          XCTAssertEqual(Set(engine.history.map(\.key)), admitted, context)
          XCTAssertEqual(engine.history.count, k, context)
          XCTAssertEqual(engine.status, .exhausted, context)
          XCTAssertTrue(engine.isDone, context)
          // Per candidate at most 20 tournaments × 3 mutation levels, 64 samples and the 64
          // enumerated architectures are checked.
          XCTAssertLessThanOrEqual(checks, calls * 2 * (SearchEngine.tournamentsPerLevel * 3 + 64 + 64), context)
          XCTAssertLessThan(ContinuousClock.now - start, .seconds(5), context)
        }
      }
    }
  }

  /// Constraints admitting nothing: `infeasible`, nothing proposed, on an enumerable and
  /// on a too-large space (where it is decided after `maxAttempts` samples).
  func testConstraintsAdmittingNothingAreInfeasible() throws {
    for (name, maxAttempts) in [("resnet-cifar-depth", 10_000), ("nas-bench-201", 10_000), ("resnet-cifar", 300)] {
      let space = try SearchEngineTests.space(name)
      for strategy in SearchConfiguration.Strategy.allCases {
        var engine = try SearchEngine(configuration: SearchConfiguration(
          strategy: strategy, population: 10, sample: 3, budget: 24, seed: 1, maxAttempts: maxAttempts))
        var checks = 0
        XCTAssertTrue(engine.propose(4, space: space) { _ in checks += 1; return false }.isEmpty)
        guard case .infeasible = engine.status else { XCTFail("\(name), \(strategy): \(engine.status)"); continue }
        XCTAssertTrue(engine.isDone)
        XCTAssertLessThanOrEqual(checks, maxAttempts + (name == "resnet-cifar" ? 0 : Int(space.size)), "\(name), \(strategy)")
      }
    }
  }

  /// NAS-Bench-201 (15 625 architectures) is enumerated too: a constraint admitting 3
  /// architectures, found by no sampling, is exhausted exactly.
  func testLargerEnumerableSpaceIsExhaustedExactly() throws {
    let nb = try SearchEngineTests.space("nas-bench-201")
    let keys = try nb.enumerate().map { nb.key(of: $0) }
    var rng = SeededGenerator(seed: 8)
    let admitted = Set(keys.shuffled(using: &rng).prefix(3))
    for strategy in SearchConfiguration.Strategy.allCases {
      var engine = try SearchEngine(configuration: SearchConfiguration(strategy: strategy, population: 5, sample: 2, budget: 50, seed: 2))
      SearchEngineTests.run(&engine, space: nb, parallel: 2, isFeasible: { admitted.contains(nb.key(of: $0)) }) { _ in 0 }
      XCTAssertEqual(Set(engine.history.map(\.key)), admitted, "\(strategy)")
      XCTAssertEqual(engine.status, .exhausted, "\(strategy)")
    }
  }

  /// Mid-search checkpoints (with the history and without it) restore an engine that goes
  /// on identically through immigrants, enumeration and exhaustion.
  func testCheckpointsThroughExhaustionContinueIdentically() throws {
    let s1 = try SearchEngineTests.space("resnet-cifar-depth")
    let score = Self.scoreFunctions[0].score
    let keys = try s1.enumerate().map { s1.key(of: $0) }
    let admitted = Set(keys.prefix(40))
    let feasible = { (g: Genotype) in admitted.contains(s1.key(of: g)) }
    for strategy in SearchConfiguration.Strategy.allCases {
      let configuration = SearchConfiguration(strategy: strategy, population: 10, sample: 3, budget: 50, seed: 4)
      var uninterrupted = try SearchEngine(configuration: configuration)
      SearchEngineTests.run(&uninterrupted, space: s1, parallel: 3, isFeasible: feasible, score: score)
      XCTAssertEqual(uninterrupted.history.count, 40, "\(strategy)")
      XCTAssertEqual(uninterrupted.status, .exhausted, "\(strategy)")

      for stop in [5, 20, 33, 38] {
        var first = try SearchEngine(configuration: configuration)
        while first.history.count < stop {
          for p in first.propose(3, space: s1, isFeasible: feasible) {
            first.record(key: p.key, score: score(p.genotype), space: s1, isFeasible: feasible)
          }
        }
        let outstanding = first.propose(3, space: s1, isFeasible: feasible)
        let checkpoint = try JSONDecoder().decode(SearchEngine.Checkpoint.self, from: JSONEncoder().encode(first.checkpoint))
        var restored = try SearchEngine(
          checkpoint: checkpoint, history: first.history.map { (key: $0.key, genotype: $0.genotype, score: $0.score) })
        XCTAssertEqual(restored.checkpoint, first.checkpoint, "\(strategy), stop \(stop)")
        XCTAssertEqual(restored.history, first.history, "\(strategy), stop \(stop)")
        var decoded = try JSONDecoder().decode(SearchEngine.self, from: JSONEncoder().encode(first))
        XCTAssertEqual(decoded, first, "\(strategy), stop \(stop)")
        // The restored engine hands the outstanding proposals out again, in order.
        XCTAssertEqual(restored.propose(outstanding.count, space: s1, isFeasible: feasible), outstanding)
        for p in outstanding {
          restored.record(key: p.key, score: score(p.genotype), space: s1, isFeasible: feasible)
          decoded.record(key: p.key, score: score(p.genotype), space: s1, isFeasible: feasible)
        }
        SearchEngineTests.run(&restored, space: s1, parallel: 3, isFeasible: feasible, score: score)
        SearchEngineTests.run(&decoded, space: s1, parallel: 3, isFeasible: feasible, score: score)
        XCTAssertEqual(restored.history, uninterrupted.history, "\(strategy), stop \(stop)")
        XCTAssertEqual(restored, uninterrupted, "\(strategy), stop \(stop)")
        XCTAssertEqual(decoded, uninterrupted, "\(strategy), stop \(stop)")
      }
    }
  }
}
