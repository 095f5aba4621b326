import DiswotJSON
import DiswotStore
import DiswotTestSupport
import Foundation
import XCTest

/// `diswotd --bench-broker N` (Scripts/bench.sh broker) is a `TaskSource` of its own beside
/// the searches and jobs: N no-op TASKs through the real broker to `--noop` local workers,
/// one JSON line with the rate, exit 0, and nothing in the store.
final class BrokerBenchTests: XCTestCase {
  func testTheBrokerBenchmarkSendsItsTasksReportsTheRateAndStops() throws {
    let dir = try scratchDirectory(self)
    let state = dir.appendingPathComponent("state")
    let run = try runCommand("diswotd", [
      "--state-dir", state.path, "--data-root", dir.path, "--client", "tcp://127.0.0.1:*",
      "--workers", "tcp://127.0.0.1:*", "--events", "tcp://127.0.0.1:*", "--local-workers", "2", "--noop-workers",
      "--bench-broker", "300", "--quiet",
    ], timeout: 60)
    XCTAssertEqual(run.status, 0, run.stderr)
    let line = try XCTUnwrap(run.stdout.split(separator: "\n").last.map(String.init), run.stderr)
    let report = try XCTUnwrap(JSONValue.parse(line)?.objectValue, line)
    XCTAssertEqual(report["tasks"]?.intValue, 300)
    XCTAssertGreaterThan(try XCTUnwrap(report["seconds"]?.doubleValue), 0)
    XCTAssertGreaterThan(try XCTUnwrap(report["tasks_per_second"]?.doubleValue), 0)

    let store = try Store(path: state.appendingPathComponent("diswot.sqlite").path)
    defer { store.close() }
    XCTAssertEqual(try store.searches().count, 0)
    XCTAssertEqual(try store.jobs().count, 0)
  }
}
