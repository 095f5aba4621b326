// diswot-store-crashtest DATABASE SEARCH-ID STOP-AT
//
// Used only by DiswotStoreTests (crash safety): continues the search SEARCH-ID from its
// engine checkpoint {"n": k}, recording evaluations k+1 … STOP-AT ("k<i>"), each in its own
// transaction together with the checkpoint {"n": i}, as fast as it can, until it is done or
// killed. Every fifth step it also re-sends an old result, which must be ignored. Rows and
// checkpoints are padded to random sizes so that commits span several pages and frequent
// WAL checkpoints run, giving `kill -9` many different places to land.
//
// Exit status: 0 done, 2 usage, 3 the store broke a promise (said so on stderr), 1 error.
import DiswotJSON
import DiswotStore
import Foundation

func fail(_ status: Int32, _ message: String) -> Never {
  FileHandle.standardError.write(Data("diswot-store-crashtest: \(message)\n".utf8))
  exit(status)
}

let arguments = CommandLine.arguments
guard arguments.count == 4, let stopAt = Int(arguments[3]) else {
  fail(2, "usage: diswot-store-crashtest DATABASE SEARCH-ID STOP-AT")
}
let (path, searchID) = (arguments[1], arguments[2])

do {
  let store = try Store(path: path)
  try store.database.execute("PRAGMA wal_autocheckpoint = 16")
  guard let search = try store.search(id: searchID) else { fail(1, "no search \(searchID)") }
  let start = search.engineJSON.flatMap { JSONValue.parse($0)?.objectValue?["n"]?.intValue } ?? 0
  let count = try store.evaluationCount(searchID: searchID)
  guard count == start else { fail(3, "checkpoint says \(start) evaluations, the table has \(count)") }

  var random = SystemRandomNumberGenerator()
  func padding() -> String { String(repeating: "x", count: Int.random(in: 100...6000, using: &random)) }

  for i in stride(from: start + 1, through: stopAt, by: 1) {
    let evaluation = EvaluationRecord(
      searchID: searchID, key: "k\(i)", arch: ["i": .int(i), "pad": .string(padding())],
      scores: ["diswot": Double(i % 97)], params: i, macs: 2 * i, score: Double(i % 97), worker: "crashtest",
      seconds: 0.001)
    let engine: JSONValue = ["n": .int(i), "pad": .string(padding())]
    guard try store.recordEvaluation(evaluation, engineJSON: engine.compactText) else {
      fail(3, "k\(i) was new but recordEvaluation said duplicate")
    }
    if i % 5 == 0, i > 2 {
      var late = evaluation
      late.key = "k\(i - 2)"
      late.score = 1e9
      guard try !store.recordEvaluation(late, engineJSON: #"{"n": -1}"#) else {
        fail(3, "the duplicate k\(i - 2) was recorded again")
      }
    }
  }
  print("done \(stopAt)")
} catch {
  fail(1, "\(error)")
}
