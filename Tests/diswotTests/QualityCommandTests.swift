import DiswotTestSupport
import Foundation
import XCTest

/// `diswot quality` end to end, as a real process, against a ground truth whose right
/// answer is known: the parameter count of each architecture.
final class QualityCommandTests: XCTestCase {
  func testParamsAgainstParameterCountTruthIsPerfect() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-quality-\(UUID())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    // The truth: every architecture's parameter count, from `diswot score --all`.
    let all = try Executables.run("diswot", [
      "score", "--space", "resnet-cifar-depth", "--all", "--proxies", "params", "--teacher", "resnet20", "--batch", "4", "--jsonl", "-"])
    XCTAssertEqual(all.status, 0, all.standardError)
    let truth = try all.standardOutput.split(separator: "\n").map { line -> String in
      let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      return "\(object["key"] as! String) \(object["params"] as! Int)"
    }
    XCTAssertEqual(truth.count, 64)
    let truthPath = dir.appendingPathComponent("truth.txt").path
    try truth.joined(separator: "\n").write(toFile: truthPath, atomically: true, encoding: .utf8)

    let jsonl = dir.appendingPathComponent("scores.jsonl").path
    let result = try Executables.run("diswot", [
      "quality", "--space", "resnet-cifar-depth", "--truth", truthPath, "--sample", "20", "--probe-seeds", "0,1",
      "--proxies", "params,nwot,ensemble", "--teacher", "resnet20", "--batch", "8", "--reference-size", "8",
      "--cost-sample", "2", "--jsonl", jsonl, "--json"])
    XCTAssertEqual(result.status, 0, result.standardError)
    let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
    XCTAssertEqual(report["sample"] as? Int, 20)
    XCTAssertEqual(report["probe_seeds"] as? [Int], [0, 1])
    XCTAssertNotNil((report["spec"] as? [String: Any])?["reference"], "the report carries the spec that produced it")
    XCTAssertGreaterThan(try XCTUnwrap(report["ensemble_calibration_ms"] as? Double), 0)
    let rows = try XCTUnwrap(report["rows"] as? [[String: Any]])
    let byProxy = Dictionary(uniqueKeysWithValues: rows.map { ($0["proxy"] as! String, $0) })
    let params = try XCTUnwrap(byProxy["params"])
    XCTAssertEqual(params["kendall_tau"] as! Double, 1, accuracy: 1e-12)
    XCTAssertEqual(params["spearman_rho"] as! Double, 1, accuracy: 1e-12)
    XCTAssertEqual(params["top_precision"] as! Double, 1)
    XCTAssertEqual(params["stability"] as! Double, 1, accuracy: 1e-12)
    XCTAssertEqual((params["per_seed"] as? [[String: Any]])?.count, 2)
    for name in ["nwot", "ensemble"] {
      let row = try XCTUnwrap(byProxy[name], name)
      for field in ["kendall_tau", "spearman_rho", "top_precision", "stability", "ms_per_candidate"] {
        let value = try XCTUnwrap(row[field] as? Double, "\(name).\(field)")
        XCTAssertTrue(value.isFinite, "\(name).\(field) = \(value)")
      }
      XCTAssertLessThanOrEqual(row["stability"] as! Double, 1, name)
    }
    let lines = try String(contentsOfFile: jsonl, encoding: .utf8).split(separator: "\n").map {
      try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
    }
    XCTAssertEqual(lines.count, 40, "one line per candidate and probe seed")
    // Each probe seed really scored on its own batch: nwot differs between seeds for a candidate.
    let first = lines[0], twin = try XCTUnwrap(lines.first { $0["seed"] as? Int == 1 && $0["key"] as? String == first["key"] as? String })
    XCTAssertNotEqual((first["scores"] as! [String: Double])["nwot"], (twin["scores"] as! [String: Double])["nwot"])

    // Bad input: clear errors, no crash.
    let noTruth = try Executables.run("diswot", ["quality", "--space", "resnet-cifar-depth", "--truth", "/nonexistent"])
    XCTAssertNotEqual(noTruth.status, 0)
    XCTAssertTrue(noTruth.standardError.contains("cannot read /nonexistent"), noTruth.standardError)
    let badSeeds = try Executables.run("diswot", ["quality", "--space", "resnet-cifar-depth", "--truth", truthPath, "--probe-seeds", "1,x"])
    XCTAssertNotEqual(badSeeds.status, 0)
    XCTAssertTrue(badSeeds.standardError.contains("--probe-seeds"), badSeeds.standardError)
    let noMatch = dir.appendingPathComponent("none.txt").path
    try "elsewhere 1\n".write(toFile: noMatch, atomically: true, encoding: .utf8)
    let unmatched = try Executables.run("diswot", ["quality", "--space", "resnet-cifar-depth", "--truth", noMatch])
    XCTAssertNotEqual(unmatched.status, 0)
    XCTAssertTrue(unmatched.standardError.contains("have a value in"), unmatched.standardError)
  }
}
