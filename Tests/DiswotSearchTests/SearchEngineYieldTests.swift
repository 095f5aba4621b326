import DiswotModels
import DiswotSearch
import DiswotTensor
import DiswotTestSupport
import Foundation
import XCTest

/// Bounded work per `propose` call (issue 11, item 8): a caller can make the engine yield
/// between feasibility checks, and the search for a candidate resumes exactly where it
/// stopped — in the same engine or one restored from a checkpoint — so a caller that
/// yields gets the same search as one that never does, only over more calls.
final class SearchEngineYieldTests: XCTestCase {
  /// What a search proposed, in order, and how it ended.
  struct Trace: Equatable {
    var keys: [String] = []
    var status: SearchEngine.Status = .running
    var calls = 0
  }

  /// Runs a search to its end, `parallel` at a time, recording every score once the batch
  /// is complete. With `yieldEvery` the engine is asked to yield after that many checks
  /// and called again while it is hunting; with `restoreWhileHunting` it is rebuilt from
  /// its checkpoint (and history) every time it yields.
  static func trace(
    _ configuration: SearchConfiguration, space: SearchSpace, parallel: Int, yieldEvery: Int?, restoreWhileHunting: Bool = false,
    isFeasible: (Genotype) -> Bool, score: (Genotype) -> Double
  ) throws -> Trace {
    var engine = try SearchEngine(configuration: configuration)
    var trace = Trace()
    var checks = 0
    let yielding = { checks += 1; return yieldEvery.map { checks > $0 } ?? false }
    while !engine.isDone, trace.calls < 100_000 {
      var batch: [SearchEngine.Proposal] = []
      repeat {
        checks = 0
        trace.calls += 1
        batch += engine.propose(parallel - batch.count, space: space, yieldingWhen: yielding, isFeasible: isFeasible)
        if restoreWhileHunting && engine.isHunting {
          let data = try JSONEncoder().encode(engine.checkpoint)
          engine = try SearchEngine(
            checkpoint: JSONDecoder().decode(SearchEngine.Checkpoint.self, from: data),
            history: engine.history.map { ($0.key, $0.genotype, $0.score) })
          // A restored engine hands its pending proposals out again, in order.
          batch = []
        }
      } while engine.isHunting && batch.count < parallel
      for p in batch where !trace.keys.contains(p.key) { trace.keys.append(p.key) }
      if batch.isEmpty && engine.pending.isEmpty { break }
      for p in batch {
        checks = 0
        engine.record(key: p.key, score: score(p.genotype), space: space, yieldingWhen: yielding, isFeasible: isFeasible)
      }
    }
    trace.status = engine.status
    return trace
  }

  func testYieldingChangesNothingButTheNumberOfCalls() throws {
    let s1 = try SearchEngineTests.space("resnet-cifar-depth")
    let nb201 = try SearchEngineTests.space("nas-bench-201")
    let large = try SearchEngineTests.space("resnet-cifar")
    let depth = { (g: Genotype) in Double(g.choices.flatMap { $0 }.reduce(0, +)) }
    // Constraints admitting a few architectures: the engine escalates, samples and scans.
    let s1Costs = CostModel(space: s1, constraints: Constraints())
    let s1MACs = try s1.enumerate().compactMap { s1Costs.costs(of: $0)?.macs }.sorted()
    let fewOfS1 = CostModel(space: s1, constraints: Constraints(maxMACs: s1MACs[5]))
    let cases: [(String, SearchSpace, SearchConfiguration, (Genotype) -> Bool)] = [
      ("evolution on S1, every architecture", s1, SearchConfiguration(population: 10, sample: 3, budget: 64, seed: 3, maxAttempts: 20), { _ in true }),
      ("evolution on S1, few feasible", s1, SearchConfiguration(population: 4, sample: 2, budget: 20, seed: 4, maxAttempts: 3_000_000), fewOfS1.isFeasible),
      ("random on S1, few feasible", s1, SearchConfiguration(strategy: .random, budget: 20, seed: 5, maxAttempts: 7), fewOfS1.isFeasible),
      ("evolution on NAS-Bench-201", nb201, SearchConfiguration(population: 8, sample: 3, budget: 40, seed: 6), { g in depth(g) < 5 }),
      ("random on resnet-cifar, sampling gives up", large, SearchConfiguration(strategy: .random, budget: 5, seed: 7, maxAttempts: 300), { g in depth(g) < 3 }),
    ]
    for (name, space, configuration, feasible) in cases {
      for parallel in [1, 3] {
        let plain = try Self.trace(configuration, space: space, parallel: parallel, yieldEvery: nil, isFeasible: feasible, score: depth)
        for every in [1, 7] {
          let yielding = try Self.trace(configuration, space: space, parallel: parallel, yieldEvery: every, isFeasible: feasible, score: depth)
          XCTAssertEqual(yielding.keys, plain.keys, "\(name), parallel \(parallel), yield every \(every)")
          XCTAssertEqual(yielding.status, plain.status, "\(name), parallel \(parallel), yield every \(every)")
          XCTAssertGreaterThan(yielding.calls, plain.calls, name)
        }
        let restored = try Self.trace(
          configuration, space: space, parallel: parallel, yieldEvery: 5, restoreWhileHunting: true, isFeasible: feasible, score: depth)
        XCTAssertEqual(restored.keys, plain.keys, "\(name), parallel \(parallel), restored from checkpoints while hunting")
        XCTAssertEqual(restored.status, plain.status, name)
      }
    }
  }

  /// The daemon's case: 3·10⁶ attempts in a space too large to enumerate, and constraints
  /// nothing meets. Each call stops when asked; the search still ends, `infeasible`.
  func testEveryCallStopsWhenAskedAndAHopelessSearchStillEnds() throws {
    let space = try SearchEngineTests.space("resnet-cifar")
    var engine = try SearchEngine(configuration: SearchConfiguration(strategy: .random, budget: 10, seed: 1, maxAttempts: 3_000_000))
    var checks = 0
    let cheapAndNothingFits: (Genotype) -> Bool = { _ in checks += 1; return false }
    let start = Date()
    XCTAssertTrue(engine.propose(4, space: space, yieldingWhen: { checks >= 100 }, isFeasible: cheapAndNothingFits).isEmpty)
    XCTAssertEqual(checks, 100, "the call stopped when asked")
    XCTAssertTrue(engine.isHunting)
    XCTAssertEqual(engine.status, .running)
    XCTAssertLessThan(Date().timeIntervalSince(start), 1)
    while engine.isHunting { _ = engine.propose(4, space: space, yieldingWhen: { checks % 100_000 == 0 }, isFeasible: cheapAndNothingFits) }
    XCTAssertEqual(checks, 3_000_000)
    XCTAssertEqual(engine.status, .infeasible("no architecture meeting the constraints in 3000000 tries"))
  }
}
