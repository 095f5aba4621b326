import DiswotJSON
import DiswotModels
import DiswotSearch
import DiswotStore
import Foundation

/// How a search engine is kept in the store: `searches.engine_json` holds the engine
/// without its history (`SearchEngine.Checkpoint`: configuration, generator, population,
/// pending proposals, counters — a size that does not grow with the search), and the
/// history is the search's rows of `evaluations` in the order they were recorded, beside
/// its rows of `unscorable`. Each row and the checkpoint that counts it are committed in
/// one transaction, so the two always agree; restoring checks that they do.
enum EngineCheckpoint {
  static func encode(_ engine: SearchEngine) throws -> String { try JSONCoding.text(engine.checkpoint) }

  static func decode(_ json: String) throws -> SearchEngine.Checkpoint {
    try JSONDecoder().decode(SearchEngine.Checkpoint.self, from: Data(json.utf8))
  }

  /// The engine of a search from its checkpoint (nil: never checkpointed, a fresh engine),
  /// its evaluation rows and its unscorable rows, each oldest first.
  static func restore(
    json: String?, configuration: SearchConfiguration, rows: [EvaluationRecord], unscorable: [UnscorableRecord] = [],
    space: SearchSpace
  ) throws -> SearchEngine {
    guard let json else {
      guard rows.isEmpty, unscorable.isEmpty else { throw StoreError.invalidArgument("evaluations without an engine checkpoint") }
      return try SearchEngine(configuration: configuration)
    }
    func genotype(_ archJSON: String, _ column: String) throws -> Genotype {
      guard let arch = JSONValue.parse(archJSON) else { throw StoreError.invalidValue(column: column, value: archJSON) }
      return try space.genotype(fromJSON: arch)
    }
    let history = try rows.map { row in
      (key: row.key, genotype: try genotype(row.archJSON, "evaluations.arch_json"), score: row.score)
    }
    let failed = try unscorable.map { row in
      SearchEngine.Unscorable(key: row.key, genotype: try genotype(row.archJSON, "unscorable.arch_json"), reason: row.reason)
    }
    return try SearchEngine(checkpoint: try decode(json), history: history, unscorable: failed)
  }
}
