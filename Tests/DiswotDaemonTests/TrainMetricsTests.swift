import DiswotJSON
import DiswotStore
import DiswotTestSupport
import DiswotWire
import Foundation
import XCTest

/// `train.metrics` (issue 15): a job's `metrics.jsonl` as the daemon reads it from the run
/// directory, thinned to at most 2000 epochs (the last kept) so the reply stays under the
/// body limit; unknown ids are `not_found`, a job without a log has no epochs.
final class TrainMetricsTests: XCTestCase {
  func testMetricsOfALongRunAreThinnedKeepingTheLastEpoch() throws {
    let dir = try scratchDirectory(self)
    let state = dir.appendingPathComponent("state")
    try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
    let run = dir.appendingPathComponent("run"), empty = dir.appendingPathComponent("empty")
    try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
    try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
    let lines = (0..<4500).map { e in
      #"{"epoch":\#(e),"images_per_second":800,"losses":{"ce":\#(2.0 / Double(e + 1)),"total":null},"lr":0.05,"seconds":1.5,"test_accuracy":0.5}"#
    }
    try (lines.joined(separator: "\n") + "\n").write(to: run.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)
    // Finished jobs, so the daemon does not try to resume them.
    let store = try Store(path: state.appendingPathComponent("diswot.sqlite").path)
    _ = try store.insertJob(id: "j-long", kind: "train", specJSON: "{}", state: .finished, checkpointDir: run.path)
    _ = try store.insertJob(id: "j-empty", kind: "train", specJSON: "{}", state: .finished, checkpointDir: empty.path)
    store.close()

    let daemon = try DaemonUnderTest(state: state, dataRoot: dir, log: dir.appendingPathComponent("daemon.log"))
    defer { daemon.child.stop() }
    let client = try daemon.pirate()
    let reply = try client.request(.trainMetrics, body: ["id": "j-long"])
    XCTAssertEqual(reply["total"], 4500)
    let epochs = try XCTUnwrap(reply["epochs"].arrayValue)
    XCTAssertLessThanOrEqual(epochs.count, 2000)
    XCTAssertEqual(epochs.count, 1501)  // every 3rd epoch, and the last
    XCTAssertEqual(epochs.first?["epoch"], 0)
    XCTAssertEqual(epochs[1]["epoch"], 3)
    XCTAssertEqual(epochs.last?["epoch"], 4499)
    XCTAssertEqual(epochs.last?["losses"]["total"], .null, "a non-finite loss stays null")
    XCTAssertEqual(try client.request(.trainMetrics, body: ["id": "j-empty"])["epochs"], [])
    XCTAssertThrowsError(try client.request(.trainMetrics, body: ["id": "j-none"])) { error in
      guard case .server(let e) = error as? ClientError else { return XCTFail("\(error)") }
      XCTAssertEqual(e.code, .notFound)
    }
    XCTAssertThrowsError(try client.request(.trainMetrics, body: ["id": "j-long", "k": 5])) { error in
      guard case .server(let e) = error as? ClientError else { return XCTFail("\(error)") }
      XCTAssertEqual(e.code, .invalidArgument)
    }
  }
}
