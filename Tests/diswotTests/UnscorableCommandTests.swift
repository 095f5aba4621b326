import DiswotTestSupport
import Foundation
import XCTest

/// Candidates whose objective is not finite, through `diswot score` and `search --local`
/// as real processes. The teacher's weights are finite but one convolution's are so large
/// that its features overflow, so every DisWOT score is NaN (other proxies stay finite):
/// `score` used to print `-nan` and exit 0, `search --local` to end "finished … best nan"
/// with "Best 0 of 0".
final class UnscorableCommandTests: XCTestCase {
  private var directory: URL!
  private var teacher: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-unscorable-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    teacher = directory.appendingPathComponent("overflowing-resnet8.safetensors")
    try ResNetWeights.write(to: teacher) { name, values in
      if name == "layer3.0.conv2.weight" { values = values.map { _ in 3e38 } }
    }
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  private var scoring: [String] {
    ["--space", "resnet-cifar-depth", "--teacher", "resnet8", "--teacher-weights", teacher.path, "--batch", "16"]
  }

  func testScoreListsUnscorableCandidatesAndFailsWhenNoneHasAScore() throws {
    let lines = try Executables.run("diswot", ["score", "--sample", "3", "--proxies", "diswot,nwot", "--jsonl", "-"] + scoring)
    XCTAssertEqual(lines.status, 1, lines.standardError)
    XCTAssertTrue(lines.standardError.contains("no candidate could be scored: all 3 are unscorable"), lines.standardError)
    let items = try lines.standardOutput.split(separator: "\n").map {
      try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
    }
    XCTAssertEqual(items.count, 3)
    for item in items {
      XCTAssertEqual(item["unscorable"] as? String, "its diswot score is not finite (NaN)")
      let scores = try XCTUnwrap(item["scores"] as? [String: Any])
      XCTAssertTrue(scores["diswot"] is NSNull, "a non-finite score is null: \(scores)")
      XCTAssertNotNil(scores["nwot"] as? Double, "the other proxies are still reported")
    }

    // The objective decides: ranked by nwot, the same candidates are scored.
    let byNWOT = try Executables.run("diswot", ["score", "--sample", "3", "--proxies", "nwot,diswot"] + scoring)
    XCTAssertEqual(byNWOT.status, 0, byNWOT.standardError)
    XCTAssertFalse(byNWOT.standardOutput.contains("Unscorable"), byNWOT.standardOutput)
    XCTAssertFalse(byNWOT.standardOutput.contains("-nan"), byNWOT.standardOutput)
  }

  func testALocalSearchWithoutAFiniteScoreFails() throws {
    let jsonl = directory.appendingPathComponent("search.jsonl").path
    let result = try Executables.run(
      "diswot", ["search", "--local", "--proxy", "diswot", "--budget", "6", "--population", "3", "--top", "10", "--json", "--jsonl", jsonl] + scoring)
    XCTAssertEqual(result.status, 1, result.standardError)
    XCTAssertTrue(result.standardError.contains("no candidate could be scored: all 6 were unscorable"), result.standardError)
    let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
    XCTAssertEqual(report["status"] as? String, "failed")
    XCTAssertEqual(report["evaluations"] as? Int, 0)
    XCTAssertTrue((report["error"] as? String ?? "").hasPrefix("no candidate could be scored"))
    let unscorable = try XCTUnwrap(report["unscorable"] as? [[String: Any]])
    XCTAssertEqual(unscorable.count, 6)
    XCTAssertEqual(Set(unscorable.map { $0["key"] as! String }).count, 6, "each candidate proposed once")
    XCTAssertTrue(unscorable.allSatisfy { $0["reason"] as? String == "its diswot score is not finite (NaN)" && $0["arch"] != nil })
    let lines = try String(contentsOfFile: jsonl, encoding: .utf8).split(separator: "\n")
    XCTAssertEqual(lines.count, 6, "every candidate is in the history, with its reason")
    XCTAssertTrue(lines.allSatisfy { $0.contains(#""unscorable":"its diswot score is not finite (NaN)""#) })
  }
}
