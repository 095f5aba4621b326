import DiswotJSON
import DiswotScoring
import Foundation

/// The page of a ranking-quality run (`quality --jsonl` or `score --jsonl` lines against a
/// ground-truth table): per proxy, every architecture's score against its ground truth,
/// with Kendall τ and Spearman ρ in the title — computed by `RankingQuality` exactly as
/// `diswot rank` and `diswot quality` compute them (per probe seed, then averaged).
public struct QualityReport {
  /// One proxy: its points per probe seed and its rank statistics.
  public struct ProxyResult {
    public var proxy: String
    public var higherIsBetter: Bool
    /// (seed, [(key, score, truth)]); the seed is nil for `score --jsonl` lines.
    public var seeds: [(seed: UInt64?, points: [(key: String, score: Double, truth: Double)])]
    /// Means over seeds of each seed's statistics.
    public var kendallTau: Double
    public var spearmanRho: Double
    public var pearsonR: Double
    public var topPrecision: Double
    public var matched: Int
  }

  public var title: String
  public var truthName: String
  public var proxies: [ProxyResult]
  /// Scored architectures without a ground-truth value (left out, as `rank` does).
  public var unmatched: Int

  /// Groups the lines by proxy and probe seed; a line's `params` and `macs` count as the
  /// proxies of those names when it has no score under them, as in `diswot rank`.
  public init(lines: [JSONValue], source: String, truth: [String: Double], truthName: String) throws(ReportInputError) {
    self.title = "Ranking quality: \(source)"
    self.truthName = truthName
    var table: [String: [UInt64?: [(String, Double, Double)]]] = [:]
    var seedOrder: [UInt64?] = []
    var unmatchedKeys = Set<String>()
    for (number, line) in lines.enumerated() {
      guard let object = line.objectValue, let key = object["key"]?.stringValue, let scores = object["scores"]?.objectValue else {
        throw ReportInputError("\(source):\(number + 1): not a score line (needs 'key' and 'scores')")
      }
      let seed = object["seed"]?.uint64Value
      guard let t = truth[key] else { unmatchedKeys.insert(key); continue }
      if !seedOrder.contains(seed) { seedOrder.append(seed) }
      var values = scores.compactMapValues { $0 == .null ? .nan : $0.doubleValue }
      for field in ["params", "macs"] where values[field] == nil { values[field] = object[field]?.doubleValue }
      for (proxy, value) in values { table[proxy, default: [:]][seed, default: []].append((key, value, t)) }
    }
    guard !table.isEmpty else { throw ReportInputError("no scored architecture in \(source) has a ground-truth value") }
    unmatched = unmatchedKeys.count
    proxies = table.keys.sorted().map { proxy in
      let higher = Proxy(rawValue: proxy)?.higherIsBetter ?? true
      let seeds = seedOrder.compactMap { seed in table[proxy]![seed].map { (seed, $0.map { (key: $0.0, score: $0.1, truth: $0.2) }) } }
      let qualities = seeds.map { RankingQuality(scores: $0.1.map(\.score), truth: $0.1.map(\.truth), higherIsBetter: higher) }
      let mean = { (f: (RankingQuality) -> Double) in qualities.map(f).reduce(0, +) / Double(qualities.count) }
      return ProxyResult(
        proxy: proxy, higherIsBetter: higher, seeds: seeds.map { (seed: $0.0, points: $0.1) }, kendallTau: mean(\.kendallTau),
        spearmanRho: mean(\.spearmanRho), pearsonR: mean(\.pearsonR), topPrecision: mean(\.topPrecision),
        matched: seeds.first?.1.count ?? 0)
    }
  }

  public func render() -> String {
    var page = HTMLPage(title: title)
    page.paragraph(
      "Each proxy's score of every architecture against its ground truth ('\(truthName)'). τ and ρ are Kendall's and Spearman's rank correlations with the scores oriented so that positive means the proxy ranks like the truth (distances negated); with several probe seeds they are means over seeds, and the points of each seed are drawn in their own colour.",
      cssClass: "note")
    if unmatched > 0 { page.paragraph("\(unmatched) scored architecture(s) have no ground-truth value and are left out.", cssClass: "note") }
    page.table(
      headers: ["proxy", "matched", "Kendall τ", "Spearman ρ", "Pearson r", "top-10 % precision"],
      rows: proxies.map { p in
        [Cell(p.proxy), Cell("\(p.matched)", numeric: true), Cell(format(p.kendallTau), numeric: true), Cell(format(p.spearmanRho), numeric: true),
         Cell(format(p.pearsonR), numeric: true), Cell(format(p.topPrecision), numeric: true)]
      })
    for p in proxies {
      let all = p.seeds.flatMap(\.points)
      var chart = Chart(
        title: "\(p.proxy): Kendall τ = \(format(p.kendallTau)), Spearman ρ = \(format(p.spearmanRho)) (n = \(p.matched))",
        xLabel: "ground truth: \(truthName)", yLabel: "\(p.proxy) score (\(p.higherIsBetter ? "higher" : "lower") is better)",
        x: .linear(covering: all.map(\.truth)), y: Scale.automatic(covering: all.map(\.score), decades: 2))
      chart.height = 340
      for (i, s) in p.seeds.enumerated() {
        chart.points(
          s.points.map { (x: $0.truth, y: $0.score) }, color: Palette.series(i), radius: 2.2, cssClass: "quality-point", opacity: 0.6,
          tooltips: s.points.map { "\($0.key)\n\(truthName) \(formatNumber($0.truth)), \(p.proxy) \(formatNumber($0.score))" },
          legend: p.seeds.count > 1 ? "probe seed \(s.seed.map(String.init) ?? "-")" : nil)
      }
      page.chart(chart)
    }
    return page.render()
  }

  private func format(_ value: Double) -> String { value.isFinite ? String(format: "%.3f", value) : "n/a" }
}
