import DiswotJSON
import DiswotModels
import DiswotSearch
import DiswotStore
import Foundation

/// How a search engine is kept in the store: `searches.engine_json` holds the engine
/// without its history (`SearchEngine.Checkpoint`: configuration, generator, population,
/// pending proposals, counters — a size that does not grow with the search), and the
/// history is the search's rows of `evaluations` in the order they were recorded. Each
/// evaluation row and the checkpoint that counts it are committed in one transaction, so
/// the two always agree; restoring checks that they do.
enum EngineCheckpoint {
  static func encode(_ engine: SearchEngine) throws -> String { try JSONCoding.text(engine.checkpoint) }

  static func decode(_ json: String) throws -> SearchEngine.Checkpoint {
    try JSONDecoder().decode(SearchEngine.Checkpoint.self, from: Data(json.utf8))
  }

  /// The engine of a search from its checkpoint (nil: never checkpointed, a fresh engine)
  /// and its evaluation rows, oldest first.
  static func restore(
    json: String?, configuration: SearchConfiguration, rows: [EvaluationRecord], space: SearchSpace
  ) throws -> SearchEngine {
    guard let json else {
      guard rows.isEmpty else { throw StoreError.invalidArgument("evaluations without an engine checkpoint") }
      return try SearchEngine(configuration: configuration)
    }
    let history = try rows.map { row in
      guard let arch = JSONValue.parse(row.archJSON) else { throw StoreError.invalidValue(column: "evaluations.arch_json", value: row.archJSON) }
      return (key: row.key, genotype: try space.genotype(fromJSON: arch), score: row.score)
    }
    return try SearchEngine(checkpoint: try decode(json), history: history)
  }
}
