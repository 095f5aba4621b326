import DiswotTestSupport
import Foundation
import XCTest

/// `diswot report` from local files, as a real process (issue 15, item 1): a `search
/// --local` search, a `quality` run against a ground truth, a training run directory;
/// and the usage errors. The daemon's IDs are covered by DiswotDaemonTests/HTTPPagesTests.
final class ReportCommandTests: XCTestCase {
  private func scratch() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-report-\(UUID())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
    return dir
  }

  private func occurrences(_ needle: String, _ text: String) -> Int { text.components(separatedBy: needle).count - 1 }

  func testSearchPageFromSearchLocalJSONLinesAndSpec() throws {
    let dir = try scratch()
    let jsonl = dir.appendingPathComponent("s.jsonl").path, result = dir.appendingPathComponent("s.json").path
    let search = try Executables.run("diswot", [
      "search", "--local", "--space", "nas-bench-201", "--proxy", "params", "--budget", "40", "--jsonl", jsonl, "--json"])
    XCTAssertEqual(search.status, 0, search.standardError)
    try search.standardOutput.write(toFile: result, atomically: true, encoding: .utf8)
    let out = dir.appendingPathComponent("search.html").path
    let report = try Executables.run("diswot", ["report", "--scores", jsonl, "--spec", result, "--top", "5", "--html", out])
    XCTAssertEqual(report.status, 0, report.standardError)
    let html = try String(contentsOfFile: out, encoding: .utf8)
    // The search's own best and Pareto front (on MACs) are what the page marks.
    let printed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(search.standardOutput.utf8)) as? [String: Any])
    let bestKey = try XCTUnwrap(((printed["best"] as? [[String: Any]])?.first)?["key"] as? String)
    let front = try XCTUnwrap(printed["pareto"] as? [[String: Any]])
    XCTAssertTrue(html.contains("<title>\(bestKey)\n"), "the chosen student's tooltip names the search's best")
    let macsChart = try XCTUnwrap(html.components(separatedBy: "<figure>").first { $0.contains("score against MACs") })
    let frontGroup = try XCTUnwrap(macsChart.components(separatedBy: "<g class=\"front\"").dropFirst().first?.components(separatedBy: "</g>").first)
    XCTAssertEqual(occurrences("<circle", frontGroup), front.count)
    XCTAssertEqual(occurrences("<g class=\"candidate\"", html), 2)
    XCTAssertTrue(html.contains("<h2>Top 5</h2>"))
    XCTAssertTrue(html.contains("<code>space</code></td><td><code>nas-bench-201</code>"))
    XCTAssertTrue(html.contains("<code>proxy</code></td><td><code>params</code>"))
    XCTAssertFalse(html.contains("<script"))
    XCTAssertFalse(html.contains("http://") && html.contains("src="), "nothing external")

    // To standard output, and a proxy the lines do not hold.
    let stdout = try Executables.run("diswot", ["report", "--scores", jsonl, "--html", "-"])
    XCTAssertEqual(stdout.status, 0, stdout.standardError)
    XCTAssertTrue(stdout.standardOutput.hasPrefix("<!DOCTYPE html>"))
    let wrongProxy = try Executables.run("diswot", ["report", "--scores", jsonl, "--proxy", "zen", "--html", out])
    XCTAssertEqual(wrongProxy.status, 3, wrongProxy.standardError)
    XCTAssertTrue(wrongProxy.standardError.contains("has no 'zen' scores (it has: params)"), wrongProxy.standardError)
  }

  func testQualityPageFromScoreLinesAgainstTruth() throws {
    let dir = try scratch()
    let all = try Executables.run("diswot", [
      "score", "--space", "resnet-cifar-depth", "--all", "--proxies", "params,macs", "--teacher", "resnet20", "--batch", "4", "--jsonl", "-"])
    XCTAssertEqual(all.status, 0, all.standardError)
    let jsonl = dir.appendingPathComponent("scores.jsonl").path
    try all.standardOutput.write(toFile: jsonl, atomically: true, encoding: .utf8)
    // The truth: each architecture's parameter count, so `params` ranks perfectly.
    let truth = try all.standardOutput.split(separator: "\n").map { line -> String in
      let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      return "\(object["key"] as! String) \(object["params"] as! Int)"
    }
    let truthPath = dir.appendingPathComponent("truth.txt").path
    try truth.joined(separator: "\n").write(toFile: truthPath, atomically: true, encoding: .utf8)
    let out = dir.appendingPathComponent("quality.html").path
    let report = try Executables.run("diswot", ["report", "--scores", jsonl, "--truth", truthPath, "--html", out])
    XCTAssertEqual(report.status, 0, report.standardError)
    let html = try String(contentsOfFile: out, encoding: .utf8)
    XCTAssertTrue(html.contains("params: Kendall τ = 1.000, Spearman ρ = 1.000 (n = 64)"), html)
    XCTAssertTrue(html.contains("macs: Kendall τ = "))
    XCTAssertEqual(occurrences("<g class=\"quality-point\"", html), 2)
    XCTAssertTrue(html.contains(">ground truth: accuracy</text>"))
  }

  func testTrainingPageFromARunDirectory() throws {
    let dir = try scratch()
    let run = dir.appendingPathComponent("run")
    try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
    // Two epochs as `diswot train` logs them, and a torn third line (a crash mid-append).
    let metrics = """
      {"epoch":0,"images_per_second":812.5,"losses":{"ce":2.1,"kd":0.9,"total":3.0},"lr":0.05,"seconds":61.5,"test_accuracy":0.41,"train_accuracy":0.33}
      {"epoch":1,"images_per_second":820,"losses":{"ce":1.6,"kd":0.7,"total":2.3},"lr":0.005,"seconds":60.1,"test_accuracy":0.52,"train_accuracy":0.47}
      {"epoch":2,"images_per_se
      """
    try metrics.write(to: run.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)
    let out = dir.appendingPathComponent("run.html").path
    let unfinished = try Executables.run("diswot", ["report", "--run", run.path, "--html", out])
    XCTAssertEqual(unfinished.status, 0, unfinished.standardError)
    XCTAssertTrue(try String(contentsOfFile: out, encoding: .utf8).contains("unfinished (no report.json yet)"))
    let reportJSON = #"{"epochs":2,"test_accuracy":0.52,"test_correct":52,"test_samples":100,"seconds":121.6,"spec":{"space":null,"student":"resnet20","teacher":null,"data":"cifar10:/d","seed":0,"proxy":null,"version":"0.6.0"}}"#
    try reportJSON.write(to: run.appendingPathComponent("report.json"), atomically: true, encoding: .utf8)
    let finished = try Executables.run("diswot", ["report", "--run", run.path, "--html", out])
    XCTAssertEqual(finished.status, 0, finished.standardError)
    let html = try String(contentsOfFile: out, encoding: .utf8)
    XCTAssertTrue(html.contains("52.00 % (52/100)"))
    XCTAssertTrue(html.contains("<code>student</code></td><td><code>resnet20</code>"))
    XCTAssertEqual(occurrences("<polyline class=\"loss\"", html), 3)
    XCTAssertTrue(html.contains(">learning rate (log scale)</text>"))
    XCTAssertTrue(html.contains(">images per second</text>"))
  }

  func testUsageAndInputErrors() throws {
    let dir = try scratch()
    let out = dir.appendingPathComponent("x.html").path
    let cases: [([String], Int32, String)] = [
      (["report", "--html", out], 2, "give one source"),
      (["report", "s-1", "--scores", "a.jsonl", "--html", out], 2, "give one source"),
      (["report", "--scores", "a.jsonl"], 2, "missing --html"),
      (["report", "--run", dir.path, "--truth", "t.txt", "--html", out], 2, "--truth goes with --scores"),
      (["report", "--scores", "a.jsonl", "--truth", "t", "--proxy", "nwot", "--html", out], 2, "ranking-quality"),
      (["report", "--scores", "a.jsonl", "--top", "0", "--html", out], 2, "--top"),
      (["report", "--scores", dir.appendingPathComponent("missing.jsonl").path, "--html", out], 3, "no such file"),
      (["report", "--run", dir.path, "--html", out], 3, "holds no metrics.jsonl"),
    ]
    for (arguments, status, message) in cases {
      let result = try Executables.run("diswot", arguments)
      XCTAssertEqual(result.status, status, "\(arguments): \(result.standardError)")
      XCTAssertTrue(result.standardError.contains(message), "\(arguments): \(result.standardError)")
    }
    let lines = dir.appendingPathComponent("bad.jsonl").path
    try "{\"key\":\"a\"}\nnot json\n".write(toFile: lines, atomically: true, encoding: .utf8)
    let bad = try Executables.run("diswot", ["report", "--scores", lines, "--html", out])
    XCTAssertEqual(bad.status, 3)
    XCTAssertTrue(bad.standardError.contains("bad.jsonl:2: not JSON"), bad.standardError)
    let unwritable = try Executables.run("diswot", ["report", "--run", "/nonexistent", "--html", "/dev/null/x.html"])
    XCTAssertEqual(unwritable.status, 3, unwritable.standardError)
  }
}
