import DiswotModels
import DiswotSearch
import DiswotTensor
import Foundation
import XCTest

/// Candidates without a finite score: they spend budget, are never proposed again, never
/// join the population, survive a checkpoint, and a search with no finite score fails.
final class UnscorableTests: XCTestCase {
  /// Some candidates score NaN: the search goes on around them (they used to stay pending
  /// for ever, so a search could never finish), every proposal is either scored or
  /// unscorable exactly once, and the population holds scored members only.
  func testUnscorableCandidatesSpendBudgetAndAreNeverProposedAgain() throws {
    let nb = try SearchEngineTests.space("nas-bench-201")
    for strategy in SearchConfiguration.Strategy.allCases {
      var engine = try SearchEngine(configuration: SearchConfiguration(strategy: strategy, population: 6, sample: 3, budget: 80, seed: 3))
      var proposed: [String] = []
      while !engine.isDone {
        let batch = engine.propose(3, space: nb) { _ in true }
        if batch.isEmpty && engine.pending.isEmpty { break }
        for p in batch {
          proposed.append(p.key)
          let conv3 = Double(p.key.components(separatedBy: "conv_3x3").count - 1)
          if p.key.hasPrefix("|none~0|") {
            XCTAssertTrue(engine.recordUnscorable(key: p.key, reason: "test: no first edge", space: nb) { _ in true })
          } else {
            XCTAssertTrue(engine.record(key: p.key, score: p.key.contains("avg_pool") ? .nan : conv3, space: nb) { _ in true })
          }
        }
      }
      XCTAssertEqual(engine.status, .finished, "\(strategy)")
      XCTAssertEqual(Set(proposed).count, 80, "\(strategy): nothing proposed twice")
      XCTAssertEqual(engine.history.count + engine.unscorable.count, 80)
      XCTAssertFalse(engine.unscorable.isEmpty)
      XCTAssertTrue(engine.history.allSatisfy { $0.score.isFinite })
      XCTAssertTrue(engine.population.allSatisfy { engine.history.indices.contains($0) })
      XCTAssertTrue(engine.unscorable.contains { $0.reason == "its objective is not finite (nan)" })
      XCTAssertTrue(engine.unscorable.contains { $0.reason == "test: no first edge" })
      XCTAssertNil(engine.failure, "some candidates were scored")
      XCTAssertFalse(engine.recordUnscorable(key: engine.unscorable[0].key, reason: "again", space: nb) { _ in true }, "not pending any more")
    }
  }

  /// Every candidate unscorable: the budget is spent and the search has failed, with the
  /// reason; the checkpoint (which counts them) plus the unscorable list restores it.
  func testASearchWithoutAFiniteScoreFailsAndRestoresFromItsCheckpoint() throws {
    let s1 = try SearchEngineTests.space("resnet-cifar-depth")
    var engine = try SearchEngine(configuration: SearchConfiguration(population: 4, sample: 2, budget: 10, seed: 8))
    var checkpoints: [(SearchEngine.Checkpoint, [SearchEngine.Unscorable])] = []
    while !engine.isDone {
      let batch = engine.propose(2, space: s1) { _ in true }
      if batch.isEmpty && engine.pending.isEmpty { break }
      for p in batch { engine.record(key: p.key, score: -.infinity, space: s1) { _ in true } }
      checkpoints.append((engine.checkpoint, engine.unscorable))
    }
    XCTAssertEqual(engine.unscorable.count, 10)
    XCTAssertEqual(engine.spent, 10)
    XCTAssertTrue(engine.history.isEmpty)
    let failure = try XCTUnwrap(engine.failure)
    XCTAssertTrue(failure.hasPrefix("no candidate could be scored: all 10 were unscorable"), failure)
    XCTAssertTrue(failure.contains(engine.unscorable.last!.key), failure)

    for (checkpoint, unscorable) in checkpoints {
      let decoded = try JSONDecoder().decode(SearchEngine.Checkpoint.self, from: JSONEncoder().encode(checkpoint))
      let restored = try SearchEngine(checkpoint: decoded, history: [], unscorable: unscorable)
      XCTAssertEqual(restored.checkpoint, checkpoint)
      XCTAssertEqual(restored.unscorable, unscorable)
    }
    XCTAssertThrowsError(try SearchEngine(checkpoint: engine.checkpoint, history: []), "the unscorable ones are missing")
    // A checkpoint written before unscorable candidates existed has none.
    var json = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(checkpoints[0].0)) as? [String: Any])
    XCTAssertEqual(json.removeValue(forKey: "unscorable") as? Int, 2)
    let old = try JSONDecoder().decode(SearchEngine.Checkpoint.self, from: JSONSerialization.data(withJSONObject: json))
    XCTAssertEqual(old.unscorable, 0)
  }
}
