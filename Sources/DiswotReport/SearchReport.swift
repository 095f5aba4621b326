import Foundation
import DiswotJSON
import DiswotScoring
import DiswotSearch

/// The page of one search: how the best score grew with evaluations, every candidate's
/// score against its MACs and its parameters with the Pareto front and the chosen student
/// (the best, which `train start --search` trains), the top-k table and the spec.
public struct SearchReport {
  /// One evaluated architecture.
  public struct Candidate: Equatable {
    public var key: String
    /// The objective proxy's value as commands print it.
    public var score: Double
    /// What the search maximised: `score`, negated for lower-is-better proxies.
    public var objective: Double
    public var params: Int
    public var macs: Int
    /// Which evaluation it was (1-based, recorded order); nil when unknown.
    public var index: Int?

    public init(key: String, score: Double, objective: Double, params: Int, macs: Int, index: Int?) {
      self.key = key
      self.score = score
      self.objective = objective
      self.params = params
      self.macs = macs
      self.index = index
    }
  }

  public var title: String
  /// Label → value lines under the title (state, budget, evaluations, …).
  public var summary: [(String, String)] = []
  public var proxy: String
  public var candidates: [Candidate]
  /// Evaluations the search recorded; more than `candidates.count` when only part of them
  /// could be fetched.
  public var totalEvaluations: Int
  public var unscorable: [(key: String, reason: String)] = []
  public var spec: JSONValue?
  public var top = 10
  public var refreshSeconds: Int?

  public init(title: String, proxy: String, candidates: [Candidate], totalEvaluations: Int? = nil, spec: JSONValue? = nil) {
    self.title = title
    self.proxy = proxy
    self.candidates = candidates
    self.totalEvaluations = totalEvaluations ?? candidates.count
    self.spec = spec
  }

  /// Whether a higher score is better for the objective (`semantic` and `relation` are distances).
  public var higherIsBetter: Bool { Proxy(rawValue: proxy)?.higherIsBetter ?? true }

  /// The search's best, the student it hands on: highest objective, earliest on ties.
  public var chosen: Candidate? {
    candidates.max { a, b in
      a.objective != b.objective ? a.objective < b.objective : (a.index ?? .max) > (b.index ?? .max)
    }
  }

  /// The best candidates, best first.
  public var best: [Candidate] {
    Array(candidates.sorted { $0.objective != $1.objective ? $0.objective > $1.objective : ($0.index ?? .max) < ($1.index ?? .max) }.prefix(top))
  }

  /// The candidates no other beats on both objective and `cost`, cheapest first.
  public func front(cost: (Candidate) -> Int) -> [Candidate] {
    paretoFront(candidates, score: \.objective, cost: cost)
  }

  /// (evaluation, best score so far) at every evaluation that improved the best.
  public var bestSoFar: [(index: Int, score: Double)] {
    var out: [(Int, Double)] = []
    var best = -Double.infinity
    for c in candidates.filter({ $0.index != nil }).sorted(by: { $0.index! < $1.index! }) where c.objective > best {
      best = c.objective
      out.append((c.index!, c.score))
    }
    return out
  }

  public func render() -> String { page().render() }

  public func page() -> HTMLPage {
    var page = HTMLPage(title: title, refreshSeconds: refreshSeconds)
    let direction = higherIsBetter ? "higher is better" : "lower is better"
    var lines = summary
    lines.append(("objective", "\(proxy) (\(direction))"))
    lines.append(("evaluations", candidates.count == totalEvaluations ? "\(totalEvaluations)" : "\(totalEvaluations) (the best \(candidates.count) shown)"))
    page.table(headers: ["", ""], rows: lines.map { [Cell($0.0), Cell($0.1)] }, cssClass: "summary")
    if candidates.count < totalEvaluations {
      page.paragraph(
        "Only the best \(candidates.count) of \(totalEvaluations) evaluations could be fetched: the charts show those, and the best-so-far curve is exact only from the first of them on.",
        cssClass: "note")
    }
    guard let chosen else {
      page.paragraph("No candidate has a score yet.", cssClass: "note")
      appendTables(&page)
      return page
    }
    page.heading("Convergence")
    page.chart(convergenceChart(chosen))
    page.heading("Score against cost")
    page.paragraph(
      "Every candidate (blue dots); the Pareto front — no other candidate is both cheaper and better — as the orange line and larger orange dots; the chosen student (the search's best) ringed in vermillion.",
      cssClass: "note")
    page.chart(costChart(chosen, cost: \.macs, label: "MACs per image (multiply–accumulates)", name: "MACs"))
    page.chart(costChart(chosen, cost: \.params, label: "parameters", name: "params"))
    appendTables(&page)
    return page
  }

  private var scoreLabel: String { "\(proxy) score (\(higherIsBetter ? "higher" : "lower") is better)" }

  private func convergenceChart(_ chosen: Candidate) -> Chart {
    let indexed = candidates.filter { $0.index != nil }
    let xs = indexed.map { Double($0.index!) } + [0]
    var chart = Chart(
      title: "Best \(proxy) score against evaluations", xLabel: "evaluation (in the order recorded)", yLabel: scoreLabel,
      x: .linear(covering: xs), y: Scale.automatic(covering: candidates.map(\.score), decades: 2))
    chart.points(indexed.map { (Double($0.index!), $0.score) }, color: Palette.skyBlue, radius: 2, cssClass: "evaluation", opacity: 0.7, legend: "evaluation")
    var curve = bestSoFar.map { (x: Double($0.index), y: $0.score) }
    if let last = curve.last, let end = indexed.map({ $0.index! }).max(), Double(end) > last.x { curve.append((Double(end), last.y)) }
    chart.line(curve, color: Palette.blue, cssClass: "best-so-far", steps: true, legend: "best so far")
    if let index = chosen.index {
      chart.rule(x: Double(index), label: "final best at evaluation \(index)", color: Palette.vermillion, cssClass: "final-best")
      chart.highlight(x: Double(index), y: chosen.score, label: "chosen student", color: Palette.vermillion, cssClass: "student", tooltip: chosen.key)
    }
    return chart
  }

  private func costChart(_ chosen: Candidate, cost: KeyPath<Candidate, Int>, label: String, name: String) -> Chart {
    var chart = Chart(
      title: "\(proxy) score against \(name): \(candidates.count) candidates", xLabel: label, yLabel: scoreLabel,
      x: Scale.automatic(covering: candidates.map { Double($0[keyPath: cost]) }),
      y: Scale.automatic(covering: candidates.map(\.score), decades: 2))
    let tip = { (c: Candidate) in "\(c.key)\n\(self.proxy) \(formatNumber(c.score)), \(formatCount(Double(c.params))) params, \(formatCount(Double(c.macs))) MACs" }
    chart.points(
      candidates.map { (Double($0[keyPath: cost]), $0.score) }, color: Palette.blue, radius: 2.5, cssClass: "candidate", opacity: 0.45,
      tooltips: candidates.map(tip), legend: "candidate")
    let front = front { $0[keyPath: cost] }
    chart.line(front.map { (Double($0[keyPath: cost]), $0.score) }, color: Palette.orange, cssClass: "front-line", steps: true)
    chart.points(
      front.map { (Double($0[keyPath: cost]), $0.score) }, color: Palette.orange, radius: 4, cssClass: "front",
      tooltips: front.map(tip), legend: "Pareto front (\(front.count))")
    chart.highlight(
      x: Double(chosen[keyPath: cost]), y: chosen.score, label: "chosen student", color: Palette.vermillion, cssClass: "student", tooltip: tip(chosen))
    return chart
  }

  private func appendTables(_ page: inout HTMLPage) {
    if !candidates.isEmpty {
      page.heading("Top \(min(top, candidates.count))")
      page.table(
        headers: ["#", "key", proxy, "params", "MMACs", "evaluation"],
        rows: best.enumerated().map { i, c in
          [
            Cell("\(i + 1)", numeric: true), Cell(c.key, code: true), Cell(formatNumber(c.score), numeric: true),
            Cell("\(c.params)", numeric: true), Cell(String(format: "%.2f", Double(c.macs) / 1e6), numeric: true),
            Cell(c.index.map(String.init) ?? "", numeric: true),
          ]
        })
    }
    if !unscorable.isEmpty {
      page.heading("Unscorable (\(unscorable.count) shown)")
      page.table(headers: ["key", "reason"], rows: unscorable.map { [Cell($0.key, code: true), Cell($0.reason)] })
    }
    page.heading("Spec")
    page.specTable(spec)
  }
}
