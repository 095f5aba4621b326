import DiswotModels
import DiswotSearch
import DiswotTensor
import Foundation
import XCTest

/// `SearchEngine.Checkpoint` + the history restores exactly the engine it was taken of, at
/// any point of an asynchronous search (the daemon checkpoints this way with every result).
final class EngineCheckpointTests: XCTestCase {
  func testCheckpointPlusHistoryRestoresTheEngineAnywhere() throws {
    let space = try SearchEngineTests.space("nas-bench-201")
    var rng = SeededGenerator(seed: 42)
    for strategy in SearchConfiguration.Strategy.allCases {
      var engine = try SearchEngine(configuration: SearchConfiguration(strategy: strategy, population: 8, sample: 3, budget: 60, seed: 5))
      var steps = 0
      while !engine.isDone, steps < 1_000 {
        steps += 1
        _ = engine.propose(Int(rng.next() % 4), space: space) { _ in true }
        // Score a random subset of the handed-out proposals, in a random order.
        for p in engine.pending.prefix(engine.handedOut).shuffled(using: &rng).prefix(Int(rng.next() % 3)) {
          engine.record(key: p.key, score: Double(rng.next() % 1000) / 1000, space: space) { _ in true }
        }
        let data = try JSONEncoder().encode(engine.checkpoint)
        let checkpoint = try JSONDecoder().decode(SearchEngine.Checkpoint.self, from: data)
        let restored = try SearchEngine(
          checkpoint: checkpoint, history: engine.history.map { (key: $0.key, genotype: $0.genotype, score: $0.score) })
        // Scores waiting for their turn are not in a checkpoint: the restored engine hands
        // every pending proposal out again.
        XCTAssertEqual(restored.checkpoint, engine.checkpoint, "\(strategy) step \(steps)")
        XCTAssertEqual(restored.history, engine.history, "\(strategy) step \(steps)")
        XCTAssertEqual(restored.handedOut, 0)
        if engine.isDone || engine.pending.isEmpty && engine.spent == engine.configuration.budget { break }
      }
      XCTAssertEqual(engine.history.count, 60)
      // A history that does not match the checkpoint is refused.
      XCTAssertThrowsError(try SearchEngine(checkpoint: engine.checkpoint, history: []))
    }
  }
}
