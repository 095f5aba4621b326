import DiswotJSON
import DiswotReport
import XCTest

/// Occurrences of `needle` in `text`.
func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

/// Circles inside the first `<g class="NAME" …>…</g>` group of a chart.
func circles(inGroup name: String, of html: String) -> Int {
  guard let start = html.range(of: "<g class=\"\(name)\"") else { return 0 }
  let rest = html[start.upperBound...]
  let end = rest.range(of: "</g>")!.lowerBound
  return count("<circle", in: String(rest[..<end]))
}

final class SearchPageTests: XCTestCase {
  /// Five candidates; the front on MACs is a (cheapest), c, e; the best is e, found 5th.
  func candidates() -> [SearchReport.Candidate] {
    [
      .init(key: "|nor_conv_3x3~0|+|a~0|b~1|", score: 1, objective: 1, params: 100, macs: 1_000, index: 1),
      .init(key: "b", score: 0.5, objective: 0.5, params: 200, macs: 5_000, index: 2),
      .init(key: "c", score: 2, objective: 2, params: 300, macs: 20_000, index: 3),
      .init(key: "d", score: 1.5, objective: 1.5, params: 400, macs: 400_000, index: 4),
      .init(key: "e", score: 3, objective: 3, params: 5000, macs: 900_000, index: 5),
    ]
  }

  func testSearchPageDrawsFrontStudentConvergenceAndTables() {
    var report = SearchReport(title: "Search s-1", proxy: "nwot", candidates: candidates(), spec: ["space": "nas-bench-201", "seed": 0])
    report.top = 4
    XCTAssertEqual(report.front(cost: \.macs).map(\.key), ["|nor_conv_3x3~0|+|a~0|b~1|", "c", "e"])
    XCTAssertEqual(report.bestSoFar.map(\.index), [1, 3, 5])
    let html = report.render()
    XCTAssertEqual(circles(inGroup: "front", of: html), 3)
    XCTAssertEqual(circles(inGroup: "candidate", of: html), 5)
    XCTAssertEqual(count("<g class=\"student\">", in: html), 3)  // convergence, MACs, params
    XCTAssertTrue(html.contains("final best at evaluation 5"))
    XCTAssertTrue(html.contains("MACs per image (multiply–accumulates) (log scale)"))
    XCTAssertTrue(html.contains(">parameters (log scale)</text>"))
    XCTAssertTrue(html.contains("<code>|nor_conv_3x3~0|+|a~0|b~1|</code>"))
    XCTAssertTrue(html.contains("<h2>Top 4</h2>"))
    XCTAssertTrue(html.contains("<code>space</code></td><td><code>nas-bench-201</code>"), html)
    XCTAssertFalse(html.contains("<script"))
    XCTAssertFalse(html.contains("http-equiv=\"refresh\""))
  }

  func testLowerIsBetterProxyMarksTheSmallestScore() {
    let report = SearchReport(
      title: "t", proxy: "relation",
      candidates: [
        .init(key: "x", score: 0.2, objective: -0.2, params: 1, macs: 10, index: 1),
        .init(key: "y", score: 0.1, objective: -0.1, params: 2, macs: 20, index: 2),
      ])
    XCTAssertEqual(report.chosen?.key, "y")
    XCTAssertTrue(report.render().contains("relation score (lower is better)"))
  }

  func testSpecAndKeysCannotInjectMarkup() throws {
    let hostile = "\"><script>alert(1)</script><img src=x onerror=alert(2)>"
    var candidates = candidates()
    candidates[4].key = hostile
    let report = SearchReport(title: hostile, proxy: hostile, candidates: candidates, spec: ["data": .string(hostile), .init(stringLiteral: hostile): 1])
    let html = report.render()
    XCTAssertFalse(html.contains("<script"))
    XCTAssertFalse(html.contains("<img"))
    XCTAssertFalse(html.contains("<img"))
    XCTAssertFalse(html.contains("\"><script"))
    XCTAssertTrue(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
  }

  func testFromLocalJSONLinesSkipsUnscorableAndNeedsAProxyWhenAmbiguous() throws {
    let lines = [
      #"{"key":"a","arch":{},"scores":{"params":10,"nwot":1},"params":10,"macs":100,"seconds":0.1}"#,
      #"{"key":"b","arch":{},"scores":{"params":20,"nwot":null},"params":20,"macs":200,"seconds":0.1,"unscorable":"its nwot score is not finite (NaN)"}"#,
      #"{"key":"c","arch":{},"scores":{"params":30,"nwot":3},"params":30,"macs":300,"seconds":0.1}"#,
    ].map { JSONValue.parse($0)! }
    XCTAssertThrowsError(try SearchReport(lines: lines, source: "s.jsonl", proxy: nil, spec: nil)) { error in
      XCTAssertTrue("\(error)".contains("--proxy"))
    }
    let report = try SearchReport(lines: lines, source: "s.jsonl", proxy: nil, spec: ["proxy": "nwot"])
    XCTAssertEqual(report.proxy, "nwot")
    XCTAssertEqual(report.candidates.map(\.key), ["a", "c"])
    XCTAssertEqual(report.candidates.map(\.index), [1, 2])
    XCTAssertEqual(report.unscorable.map(\.key), ["b"])
    XCTAssertThrowsError(try SearchReport(lines: lines, source: "s.jsonl", proxy: "zen", spec: nil))
  }

  func testFromDaemonReplyKeepsIndicesAndLiveRefresh() throws {
    let best = JSONValue.parse(#"""
      {"id":"s-1","proxy":"diswot","evaluations":7,"spec":null,"unscorable":[],
       "best":[{"key":"k2","score":-0.1,"objective":-0.1,"params":5,"macs":50,"index":4},
               {"key":"k1","score":-0.3,"objective":-0.3,"params":3,"macs":30,"index":2}]}
      """#)!
    let status = JSONValue.parse(#"{"id":"s-1","state":"running","space":"nas-bench-201","budget":10,"spent":8}"#)!
    let report = try SearchReport(status: status, best: best)
    XCTAssertEqual(report.totalEvaluations, 7)
    XCTAssertEqual(report.refreshSeconds, 5)
    let html = report.render()
    XCTAssertTrue(html.contains("http-equiv=\"refresh\" content=\"5\""))
    XCTAssertTrue(html.contains("the best 2 shown"))
    XCTAssertTrue(html.contains("No spec recorded"))
  }
}

final class QualityPageTests: XCTestCase {
  func testTitlesCarryTauAndRhoOfRankingQuality() throws {
    // nwot ranks exactly like the truth; relation (lower is better) exactly against it.
    let lines = (0..<6).map { i in
      JSONValue.parse(#"{"key":"k\#(i)","scores":{"nwot":\#(i * 10),"relation":\#(i)},"params":\#(100 - i),"macs":5}"#)!
    } + [JSONValue.parse(#"{"key":"unknown","scores":{"nwot":1},"params":1,"macs":1}"#)!]
    let truth = Dictionary(uniqueKeysWithValues: (0..<6).map { ("k\($0)", Double($0) / 10) })
    let report = try QualityReport(lines: lines, source: "q.jsonl", truth: truth, truthName: "accuracy")
    XCTAssertEqual(report.unmatched, 1)
    XCTAssertEqual(report.proxies.map(\.proxy), ["macs", "nwot", "params", "relation"])
    let html = report.render()
    XCTAssertTrue(html.contains("nwot: Kendall τ = 1.000, Spearman ρ = 1.000 (n = 6)"))
    XCTAssertTrue(html.contains("relation: Kendall τ = -1.000, Spearman ρ = -1.000 (n = 6)"))
    XCTAssertTrue(html.contains("params: Kendall τ = -1.000"))
    XCTAssertEqual(count("class=\"quality-point\"", in: html), 4)
    XCTAssertTrue(html.contains(">ground truth: accuracy</text>"))
  }

  func testSeedsAreAveragedAndDrawnApart() throws {
    let lines = [(0, "a", 1.0), (0, "b", 2.0), (0, "c", 3.0), (1, "a", 3.0), (1, "b", 2.0), (1, "c", 1.0)].map { seed, key, s in
      JSONValue.parse(#"{"seed":\#(seed),"key":"\#(key)","scores":{"zen":\#(s)},"params":1,"macs":1}"#)!
    }
    let report = try QualityReport(lines: lines, source: "q", truth: ["a": 1, "b": 2, "c": 3], truthName: "acc")
    let zen = try XCTUnwrap(report.proxies.first { $0.proxy == "zen" })
    XCTAssertEqual(zen.seeds.count, 2)
    XCTAssertEqual(zen.kendallTau, 0, accuracy: 1e-12)  // +1 and −1 averaged
    XCTAssertTrue(report.render().contains("probe seed 1"))
  }
}

final class TrainingPageTests: XCTestCase {
  func testTrainingPageChartsEveryEpochInPercent() throws {
    let lines = (0..<3).map { e in
      JSONValue.parse(#"{"epoch":\#(e),"lr":\#(0.1 / pow(10, Double(e))),"losses":{"ce":\#(2.0 - Double(e) * 0.5),"total":\#(3.0 - Double(e))},"train_accuracy":0.\#(3 + e),"test_accuracy":0.\#(2 + e),"images_per_second":800,"seconds":60}"#)!
    }
    var report = try TrainingReport(title: "Run r", lines: lines, spec: ["student": "resnet20"])
    report.addResult(["test_accuracy": 0.4, "test_correct": 4000, "test_samples": 10000, "epochs": 3])
    let html = report.render()
    XCTAssertTrue(html.contains("40.00 % (4000/10000)"))
    XCTAssertTrue(html.contains(">accuracy (%)</text>"))
    XCTAssertTrue(html.contains(">learning rate (log scale)</text>"))
    XCTAssertTrue(html.contains(">images per second</text>"))
    XCTAssertEqual(count("<polyline class=\"loss\"", in: html), 2)
    XCTAssertEqual(circles(inGroup: "test-accuracy-point", of: html), 3)
    XCTAssertThrowsError(try TrainingReport(title: "x", lines: [["epoch": 1]], spec: nil))
  }
}

final class IndexPageTests: XCTestCase {
  func testIndexLinksSearchesAndJobsAndListsWorkers() {
    let html = IndexPage.render(
      searches: ["searches": [["id": "s-1", "state": "running", "evaluations": 3, "budget": 10, "name": "<b>"]]],
      jobs: ["jobs": [["id": "j-2", "state": "finished", "epochs": 2, "student": ["name": "resnet20"], "result": ["test_accuracy": 0.5]]]],
      workers: ["workers": [["id": "w1", "threads": 2, "busy": true, "capabilities": ["score"]]]], daemon: "diswotd 0.6")
    XCTAssertTrue(html.contains("<a href=\"/searches/s-1\"><code>s-1</code></a>"))
    XCTAssertTrue(html.contains("<a href=\"/jobs/j-2\"><code>j-2</code></a>"))
    XCTAssertTrue(html.contains("50.00 %"))
    XCTAssertTrue(html.contains("&lt;b&gt;"))
    XCTAssertTrue(html.contains("http-equiv=\"refresh\" content=\"5\""))
    XCTAssertEqual(percentEncode("a/../b c"), "a%2F..%2Fb%20c")
  }
}
