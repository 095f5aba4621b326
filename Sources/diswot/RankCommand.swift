import DiswotCommandLine
import DiswotJSON
import DiswotScoring
import Foundation

/// `diswot rank`: how well each proxy's scores rank architectures against a ground truth.
enum RankCommand {
  static let spec = CommandSpec(
    "rank", abstract: "Correlate proxy scores with ground truth (Kendall τ, Spearman ρ, Pearson r).",
    discussion: """
      --scores is the JSONL that 'diswot score --jsonl FILE' writes. --truth holds lines 'KEY VALUE' \
      or JSON objects with 'key' and a value field (--truth-field, default 'accuracy'). \
      Architectures are matched by key; unmatched ones are counted and skipped. Scores are \
      oriented so that a positive correlation means the proxy ranks like the truth (semantic \
      and relation distances are negated); a non-finite score ranks last.
      """,
    options: [
      .value("scores", valueName: "file", help: "Scores, one JSON object per line ('diswot score --jsonl FILE')."),
      .value("truth", valueName: "file", help: "Ground truth: 'KEY VALUE' lines, JSONL, or CSV with a header (key first)."),
      .value("truth-field", valueName: "name", default: "accuracy", help: "Value field of JSONL truth lines or CSV column (default for CSV: the last)."),
      .json,
    ])

  /// One proxy's line: its name and its `RankingQuality` fields side by side.
  struct Row: Encodable {
    var proxy: String
    var quality: RankingQuality

    enum CodingKeys: String, CodingKey { case proxy }

    func encode(to encoder: any Encoder) throws {
      var c = encoder.container(keyedBy: CodingKeys.self)
      try c.encode(proxy, forKey: .proxy)
      try quality.encode(to: encoder)
    }
  }

  static func run(_ args: ParsedArguments) throws {
    let scoresPath = try args.require("scores"), truthPath = try args.require("truth")
    let truth = try TruthTable.read(truthPath, field: args.string("truth-field", default: "accuracy"))
    var perProxy: [String: [(Double, Double)]] = [:]
    var unmatched = 0
    for (number, line) in try TruthTable.nonBlankLines(scoresPath) {
      guard let object = JSONValue.parse(line)?.objectValue, let key = object["key"]?.stringValue,
        let scores = object["scores"]?.objectValue
      else { throw CommandLineError.data("\(scoresPath):\(number): not a score line (needs 'key' and 'scores')") }
      guard let t = truth[key] else { unmatched += 1; continue }
      // A null score is a non-finite one (the JSON rule): it ranks last.
      var values = scores.compactMapValues { $0 == .null ? .nan : $0.doubleValue }
      for field in ["params", "macs"] where values[field] == nil { values[field] = object[field]?.doubleValue }
      for (proxy, value) in values { perProxy[proxy, default: []].append((value, t)) }
    }
    if unmatched > 0 { Log.warning("\(unmatched) scored architecture(s) have no ground truth and were skipped") }
    guard !perProxy.isEmpty else { throw CommandLineError.data("no scored architecture matches a key in \(truthPath)") }
    let rows = perProxy.keys.sorted().map { proxy -> Row in
      let pairs = perProxy[proxy]!
      return Row(proxy: proxy, quality: RankingQuality(
        scores: pairs.map(\.0), truth: pairs.map(\.1), higherIsBetter: Proxy(rawValue: proxy)?.higherIsBetter ?? true))
    }
    if args.flag("json") {
      try JSONOutput.print(rows)
    } else {
      var table = Table(headers: ["proxy", "matched", "Kendall τ", "Spearman ρ", "Pearson r", "top-10 % precision"])
      for r in rows {
        let q = r.quality
        table.append([r.proxy, "\(q.matched)", String(format: "%.4f", q.kendallTau), String(format: "%.4f", q.spearmanRho),
                      String(format: "%.4f", q.pearsonR), String(format: "%.3f", q.topPrecision)])
      }
      print(table.render(), terminator: "")
    }
  }
}
