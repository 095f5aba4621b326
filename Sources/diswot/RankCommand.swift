import DiswotCommandLine
import DiswotJSON
import DiswotScoring
import Foundation

/// `diswot rank`: how well each proxy's scores rank architectures against a ground truth.
enum RankCommand {
  static let spec = CommandSpec(
    "rank", abstract: "Correlate proxy scores with ground truth (Kendall τ, Spearman ρ, Pearson r).",
    discussion: """
      --scores is the JSONL that 'diswot score --jsonl' writes. --truth holds lines 'KEY VALUE' \
      or JSON objects with 'key' and a value field (--truth-field, default 'accuracy'). \
      Architectures are matched by key; unmatched ones are counted and skipped.
      """,
    options: [
      .value("scores", valueName: "file", help: "Scores, one JSON object per line (diswot score --jsonl)."),
      .value("truth", valueName: "file", help: "Ground truth: 'KEY VALUE' lines or JSONL."),
      .value("truth-field", valueName: "name", default: "accuracy", help: "Value field of JSONL truth lines."),
      .json,
    ])

  struct Row: Encodable {
    var proxy: String
    var matched: Int
    var kendallTau: Double
    var spearmanRho: Double
    var pearsonR: Double

    enum CodingKeys: String, CodingKey {
      case proxy, matched
      case kendallTau = "kendall_tau", spearmanRho = "spearman_rho", pearsonR = "pearson_r"
    }
  }

  static func run(_ args: ParsedArguments) throws {
    let scoresPath = try args.require("scores"), truthPath = try args.require("truth")
    let truth = try readTruth(truthPath, field: args.string("truth-field", default: "accuracy"))
    var perProxy: [String: [(Double, Double)]] = [:]
    var unmatched = 0
    for (number, line) in try lines(scoresPath) {
      guard let object = JSONValue.parse(line)?.objectValue, let key = object["key"]?.stringValue,
        let scores = object["scores"]?.objectValue
      else { throw CommandLineError.data("\(scoresPath):\(number): not a score line (needs 'key' and 'scores')") }
      guard let t = truth[key] else { unmatched += 1; continue }
      var values = scores.compactMapValues(\.doubleValue)
      for field in ["params", "macs"] where values[field] == nil { values[field] = object[field]?.doubleValue }
      for (proxy, value) in values { perProxy[proxy, default: []].append((value, t)) }
    }
    if unmatched > 0 { Log.warning("\(unmatched) scored architecture(s) have no ground truth and were skipped") }
    guard !perProxy.isEmpty else { throw CommandLineError.data("no scored architecture matches a key in \(truthPath)") }
    let rows = perProxy.keys.sorted().map { proxy -> Row in
      let pairs = perProxy[proxy]!
      let (x, y) = (pairs.map(\.0), pairs.map(\.1))
      return Row(proxy: proxy, matched: pairs.count, kendallTau: kendallTau(x, y), spearmanRho: spearmanRho(x, y), pearsonR: pearsonR(x, y))
    }
    if args.flag("json") {
      try JSONOutput.print(rows)
    } else {
      var table = Table(headers: ["proxy", "matched", "Kendall τ", "Spearman ρ", "Pearson r"])
      for r in rows {
        table.append([r.proxy, "\(r.matched)", String(format: "%.4f", r.kendallTau), String(format: "%.4f", r.spearmanRho), String(format: "%.4f", r.pearsonR)])
      }
      print(table.render(), terminator: "")
    }
  }

  /// Non-blank, non-comment lines with their 1-based numbers.
  static func lines(_ path: String) throws -> [(Int, String)] {
    guard let data = FileManager.default.contents(atPath: path) else { throw CommandLineError.data("cannot read \(path)") }
    return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated()
      .map { ($0.offset + 1, $0.element.trimmingCharacters(in: .whitespaces)) }
      .filter { !$0.1.isEmpty && !$0.1.hasPrefix("#") }
  }

  static func readTruth(_ path: String, field: String) throws -> [String: Double] {
    var truth: [String: Double] = [:]
    for (number, line) in try lines(path) {
      if line.hasPrefix("{") {
        guard let object = JSONValue.parse(line)?.objectValue, let key = object["key"]?.stringValue,
          let value = object[field]?.doubleValue
        else { throw CommandLineError.data("\(path):\(number): needs a string 'key' and a number '\(field)'") }
        truth[key] = value
      } else {
        let parts = line.split(whereSeparator: \.isWhitespace)
        guard parts.count == 2, let value = Double(parts[1]), value.isFinite else {
          throw CommandLineError.data("\(path):\(number): expected 'KEY VALUE', got '\(line)'")
        }
        truth[String(parts[0])] = value
      }
    }
    return truth
  }
}
