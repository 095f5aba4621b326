import DiswotTestSupport
import Foundation
import XCTest

/// `diswot search --local` end to end, as a real process.
final class SearchCommandTests: XCTestCase {
  func testBudgetedSearchReportsBestParetoAndEveryEvaluation() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-search-\(UUID())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    func search(_ name: String) throws -> ([String: Any], [[String: Any]]) {
      let log = dir.appendingPathComponent(name).path
      let result = try Executables.run("diswot", [
        "search", "--local", "--space", "resnet-cifar", "--teacher", "resnet20", "--batch", "16", "--budget", "12",
        "--population", "5", "--tournament", "2", "--max-macs", "20000000", "--seed", "3", "--reference-size", "16", "--json", "--jsonl", log])
      XCTAssertEqual(result.status, 0, result.standardError)
      let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
      let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
      }
      return (report, lines)
    }
    let (report, lines) = try search("a.jsonl")
    XCTAssertEqual(report["evaluations"] as? Int, 12)
    XCTAssertEqual(lines.count, 12)
    XCTAssertTrue(lines.allSatisfy { ($0["macs"] as! Int) <= 20_000_000 }, "no infeasible candidate evaluated")
    XCTAssertEqual(Set(lines.map { $0["key"] as! String }).count, 12, "no architecture evaluated twice")
    let best = try XCTUnwrap(report["best"] as? [[String: Any]])
    XCTAssertEqual(best.count, 5)
    for field in ["arch", "key", "score", "params", "macs"] { XCTAssertNotNil(best[0][field], field) }
    let scores = lines.map { ($0["scores"] as! [String: Double])["ensemble"]! }
    XCTAssertEqual(best[0]["score"] as! Double, scores.max()!)
    XCTAssertLessThanOrEqual(try XCTUnwrap(report["evaluations_to_best"] as? Int), 12)
    XCTAssertFalse(try XCTUnwrap(report["pareto"] as? [[String: Any]]).isEmpty)

    let (again, linesAgain) = try search("b.jsonl")
    XCTAssertEqual(lines.map { $0["key"] as! String }, linesAgain.map { $0["key"] as! String }, "same seed, same search")
    XCTAssertEqual((again["best"] as! [[String: Any]])[0]["key"] as? String, best[0]["key"] as? String)
  }

  func testUnmeetableConstraintsAndMissingLocalAreErrors() throws {
    let impossible = try Executables.run("diswot", ["search", "--local", "--space", "resnet-cifar-depth", "--max-params", "10", "--budget", "5"])
    XCTAssertEqual(impossible.status, 1)
    XCTAssertTrue(impossible.standardError.contains("cannot be met"), impossible.standardError)
    let remote = try Executables.run("diswot", ["search", "--space", "resnet-cifar-depth"])
    XCTAssertEqual(remote.status, 2)
  }
}
