import DiswotTestSupport
import Foundation
import XCTest

/// `diswot score` and `diswot rank` end to end, as real processes.
final class ScoreCommandTests: XCTestCase {
  let arch = #"{"depths":[3,1,5],"widths":[16,32,64]}"#

  private func scoreLines(_ extra: [String]) throws -> [[String: Any]] {
    let result = try Executables.run("diswot", ["score", "--space", "resnet-cifar-depth", "--jsonl", "-", "--teacher", "resnet20", "--batch", "16"] + extra)
    XCTAssertEqual(result.status, 0, result.standardError)
    return try result.standardOutput.split(separator: "\n").map {
      try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
    }
  }

  func testOneArchitectureReportsEveryRequestedProxy() throws {
    let lines = try scoreLines(["--arch", arch, "--proxies", "diswot,semantic,relation,params,macs,nwot,meco,zen"])
    XCTAssertEqual(lines.count, 1)
    let line = lines[0]
    XCTAssertEqual(line["key"] as? String, "depths=3,1,5;widths=16,32,64")
    XCTAssertEqual(line["semantic_form"] as? String, "per-class")
    let scores = try XCTUnwrap(line["scores"] as? [String: Double])
    XCTAssertEqual(Set(scores.keys), ["diswot", "semantic", "relation", "params", "macs", "nwot", "meco", "zen"])
    XCTAssertEqual(scores["diswot"]!, -(scores["semantic"]! + scores["relation"]!), accuracy: 1e-12)
    XCTAssertEqual(scores["params"], line["params"] as? Double)
    XCTAssertTrue(scores.values.allSatisfy(\.isFinite), "\(scores)")
  }

  /// A score is a pure function of its inputs: identical across runs and, to 1e-5
  /// relative, across thread counts.
  func testScoresAreReproducible() throws {
    let common = ["--sample", "3", "--seed", "4", "--reference-size", "16"]
    let one = try scoreLines(common + ["--threads", "1"])
    let again = try scoreLines(common + ["--threads", "1"])
    let two = try scoreLines(common + ["--threads", "2"])
    for ((a, b), c) in zip(zip(one, again), two) {
      let (sa, sb, sc) = (a["scores"] as! [String: Double], b["scores"] as! [String: Double], c["scores"] as! [String: Double])
      XCTAssertEqual(sa, sb)
      XCTAssertEqual(sa["ensemble"]!, sc["ensemble"]!, accuracy: 1e-5 * abs(sa["ensemble"]!))
    }
  }

  /// Without --repeats, the spec the result carries averages two initialisations when the
  /// ensemble is measured and one for the published proxies (the faithful DisWOT score).
  func testDefaultRepeatsFollowTheProxies() throws {
    for (proxies, repeats) in [("ensemble", 2), ("diswot,nwot", 1)] {
      let result = try Executables.run("diswot", [
        "score", "--space", "resnet-cifar-depth", "--arch", arch, "--teacher", "resnet20", "--batch", "8",
        "--reference-size", "8", "--proxies", proxies, "--json"])
      XCTAssertEqual(result.status, 0, result.standardError)
      let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
      let spec = try XCTUnwrap(json["spec"] as? [String: Any])
      XCTAssertEqual(spec["repeats"] as? Int, repeats, proxies)
    }
  }

  func testBadInputIsAClearErrorNotACrash() throws {
    let cases: [([String], Int32, String)] = [
      (["--arch", #"{"depths":[3,1,5],"widths":[16,1000000000,64]}"#], 3, "is not one of"),
      (["--arch", "{not json"], 2, "not valid JSON"),
      (["--arch", arch, "--proxies", "diswot,magic"], 2, "unknown proxy 'magic'"),
      (["--all", "--sample", "2"], 2, "exactly one of"),
      (["--arch", arch, "--batch", "100000"], 2, "--batch must be between"),
      (["--arch", arch, "--teacher", "resnet21"], 2, "6n+2"),
    ]
    for (extra, status, fragment) in cases {
      let result = try Executables.run("diswot", ["score", "--space", "resnet-cifar-depth"] + extra)
      XCTAssertFalse(result.crashed)
      XCTAssertEqual(result.status, status, "\(extra): \(result.standardError)")
      XCTAssertTrue(result.standardError.contains(fragment), "\(extra): \(result.standardError)")
    }
    let missing = try Executables.run("diswot", ["score", "--space", "no-such-space", "--all"])
    XCTAssertEqual(missing.status, 3)
    XCTAssertTrue(missing.standardError.contains("no search space of that name"), missing.standardError)
  }

  /// x = [1, 2, 3, 4] against truth [1, 3, 2, 4]: one discordant pair of six, so
  /// τ = (5 − 1)/6; Σd² = 2, so ρ = 1 − 6·2/(4·15) = 0.8; Pearson r = 4/√(5·5) = 0.8.
  /// params = [1, 1, 2, 3] against the same truth: pair (a, b) tied in x, (b, c)
  /// discordant, four concordant, so τ_b = (4 − 1)/√(5·6) = 0.547723; ρ on average ranks
  /// [1.5, 1.5, 3, 4] vs [1, 3, 2, 4] = 3/√(4.5·5) = 0.632456; r = 2.5/√(2.75·5) = 0.674200.
  func testRankCorrelationsWorkedByHand() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-rank-\(UUID())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let scores = zip(["a", "b", "c", "d", "e"], zip([1.0, 2, 3, 4, 9], [1.0, 1, 2, 3, 9])).map { key, v in
      #"{"key":"\#(key)","scores":{"x":\#(v.0),"params":\#(v.1)}}"#
    }.joined(separator: "\n")
    try scores.write(to: dir.appendingPathComponent("scores.jsonl"), atomically: true, encoding: .utf8)
    try "# key value\na 1\nb 3\nc 2\n{\"key\": \"d\", \"accuracy\": 4}\n".write(
      to: dir.appendingPathComponent("truth.txt"), atomically: true, encoding: .utf8)
    let result = try Executables.run("diswot", ["rank", "--scores", dir.appendingPathComponent("scores.jsonl").path,
                                                "--truth", dir.appendingPathComponent("truth.txt").path, "--json"])
    XCTAssertEqual(result.status, 0, result.standardError)
    let rows = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [[String: Any]])
    let byProxy = Dictionary(uniqueKeysWithValues: rows.map { ($0["proxy"] as! String, $0) })
    let x = try XCTUnwrap(byProxy["x"]), params = try XCTUnwrap(byProxy["params"])
    XCTAssertEqual(x["matched"] as? Int, 4)  // "e" has no ground truth
    XCTAssertEqual(x["kendall_tau"] as! Double, 4.0 / 6, accuracy: 1e-9)
    XCTAssertEqual(x["spearman_rho"] as! Double, 0.8, accuracy: 1e-9)
    XCTAssertEqual(x["pearson_r"] as! Double, 0.8, accuracy: 1e-9)
    XCTAssertEqual(params["kendall_tau"] as! Double, 3 / 30.0.squareRoot(), accuracy: 1e-9)
    XCTAssertEqual(params["spearman_rho"] as! Double, 3 / 22.5.squareRoot(), accuracy: 1e-9)
    XCTAssertEqual(params["pearson_r"] as! Double, 2.5 / 13.75.squareRoot(), accuracy: 1e-9)
    XCTAssertEqual(x["top_precision"] as! Double, 1)  // k = 1: d is first by x and by truth
    XCTAssertTrue(result.standardError.contains("1 scored architecture(s) have no ground truth"))

    // The same truth as CSV with a header: the named column, else the last.
    try "arch,index,acc\na,0,1\nb,1,3\nc,2,2\nd,3,4\n".write(to: dir.appendingPathComponent("truth.csv"), atomically: true, encoding: .utf8)
    for field in [["--truth-field", "acc"], []] {
      let csv = try Executables.run("diswot", ["rank", "--scores", dir.appendingPathComponent("scores.jsonl").path,
                                               "--truth", dir.appendingPathComponent("truth.csv").path, "--json"] + field)
      XCTAssertEqual(csv.status, 0, csv.standardError)
      let csvRows = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(csv.standardOutput.utf8)) as? [[String: Any]])
      let csvX = try XCTUnwrap(csvRows.first { $0["proxy"] as? String == "x" })
      XCTAssertEqual(csvX["kendall_tau"] as! Double, 4.0 / 6, accuracy: 1e-9)
    }
    try "arch,acc\na,1\nb,high\n".write(to: dir.appendingPathComponent("bad.csv"), atomically: true, encoding: .utf8)
    let bad = try Executables.run("diswot", ["rank", "--scores", dir.appendingPathComponent("scores.jsonl").path,
                                             "--truth", dir.appendingPathComponent("bad.csv").path])
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(bad.standardError.contains("bad.csv:3"), bad.standardError)
  }

  /// A distance is oriented before correlating: relation (lower is better) that falls as
  /// the truth rises correlates at +1.
  func testRankOrientsDistances() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-rank-\(UUID())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let scores = (1...5).map { #"{"key":"k\#($0)","scores":{"relation":\#(1.0 / Double($0))}}"# }.joined(separator: "\n")
    try scores.write(to: dir.appendingPathComponent("s.jsonl"), atomically: true, encoding: .utf8)
    try (1...5).map { "k\($0) \($0)" }.joined(separator: "\n").write(to: dir.appendingPathComponent("t.txt"), atomically: true, encoding: .utf8)
    let result = try Executables.run("diswot", ["rank", "--scores", dir.appendingPathComponent("s.jsonl").path,
                                                "--truth", dir.appendingPathComponent("t.txt").path, "--json"])
    XCTAssertEqual(result.status, 0, result.standardError)
    let rows = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [[String: Any]])
    XCTAssertEqual(rows.first?["kendall_tau"] as? Double, 1)
  }
}
