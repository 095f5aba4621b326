import DiswotCommandLine
import DiswotJSON
import DiswotModels
import DiswotScoring
import DiswotSearch
import Foundation

/// `diswot search --local`: an evolutionary search in this process; `diswot search start`
/// and its siblings (SearchDaemonCommands.swift): the same search through diswotd.
enum SearchCommand {
  static let spec = CommandSpec(
    "search", abstract: "Search a space for the best student under a budget.",
    discussion: """
      With --local the search runs in this process: aging evolution (or random search) \
      proposes candidates, each is scored like 'diswot score' does, and candidates over the \
      parameter, MAC or latency limits are never evaluated. The same seed gives the same \
      search, here or through diswotd with any number of workers. 'diswot search start' \
      runs it through diswotd on its workers instead (same options), and the other \
      subcommands follow and steer daemon searches.
      """,
    options: [
      .flag("local", help: "Run the search in this process (else use a subcommand: start, status, …)."),
      .value("proxy", valueName: "name", default: "ensemble", help: "What to maximise: \(Proxy.allCases.map(\.rawValue).joined(separator: ", ")) (semantic and relation are minimised)."),
      .value("strategy", valueName: "evolution|random", default: "evolution", help: "Aging evolution, or random search as a baseline."),
      .value("population", valueName: "P", default: "10", help: "Population size of aging evolution."),
      .value("sample", valueName: "S", default: "3", help: "Tournament size."),
      .value("budget", valueName: "N", default: "100", help: "Evaluations to spend."),
      .value("window", valueName: "W", default: "\(SearchConfiguration.defaultWindow)", help: "Candidates in flight: results are applied in proposal order, so the same W gives the same search with any number of workers (a larger W keeps more workers busy)."),
      .value("max-params", valueName: "n", help: "Largest parameter count allowed."),
      .value("max-macs", valueName: "n", help: "Largest MAC count (one image) allowed."),
      .value("max-latency-ms", valueName: "ms", help: "Largest batch-1 forward latency on this machine."),
      .value("top", valueName: "k", default: "5", help: "How many of the best architectures to report."),
      .json,
      .value("jsonl", valueName: "file", help: "Write every evaluation as a JSON line to this file."),
    ] + ScoringOptions.options,
    subcommands: SearchDaemonCommands.subcommands, runnable: true)

  /// One reported architecture.
  struct Entry: Encodable {
    var arch: JSONValue
    var key: String
    var score: Double
    var params: Int
    var macs: Int
  }

  /// What `--json` prints (`id` only for daemon searches).
  struct Report: Encodable {
    var id: String?
    var best: [Entry]
    var pareto: [Entry]
    var evaluations: Int
    var evaluationsToBest: Int?
    var status: String
    var proxy: String
    var seconds: Double

    enum CodingKeys: String, CodingKey {
      case id, best, pareto, evaluations, status, proxy, seconds
      case evaluationsToBest = "evaluations_to_best"
    }
  }

  static func run(_ args: ParsedArguments) throws {
    guard args.flag("local") else {
      throw args.usageError("give --local to search in this process, or a subcommand (start, status, list, best, cancel, pause, resume) to use diswotd")
    }
    let proxy = try proxy(args)
    let session = try ScoringOptions.session(try ScoringOptions.spec(args, proxies: [proxy]))
    let strategy = try configuration(args).strategy
    var engine = try SearchEngine(configuration: try configuration(args))
    let costs = CostModel(space: session.space, constraints: try constraints(args))
    let jsonl = try args.string("jsonl").map { try JSONLinesWriter(path: $0) }
    defer { jsonl?.close() }
    Log.info("searching \(session.space.name) (\(Int(session.space.size)) architectures) for \(proxy.rawValue) against \(session.teacherDescription), \(strategy.rawValue), budget \(engine.configuration.budget)")

    let start = Date()
    let sign: Double = proxy.higherIsBetter ? 1 : -1
    var evaluations: [String: ScoringSession.Evaluation] = [:]
    let bar = ProgressBar(total: engine.configuration.budget, label: "search")
    while !engine.isDone {
      let proposals = engine.propose(1, space: session.space, isFeasible: costs.isFeasible)
      if proposals.isEmpty { break }
      for p in proposals {
        let evaluation = try session.evaluate(p.genotype)
        evaluations[p.key] = evaluation
        let objective = sign * (evaluation.scores[proxy.rawValue] ?? .nan)
        if objective.isFinite {
          engine.record(key: p.key, score: objective, space: session.space, isFeasible: costs.isFeasible)
        } else {
          Log.warning("\(p.key) scored a non-finite \(proxy.rawValue); it is not counted")
          engine.recordUnscorable(key: p.key, space: session.space, isFeasible: costs.isFeasible)
        }
        try jsonl?.write(evaluation)
        bar.advance(detail: "best \(String(format: "%.5g", sign * (engine.best?.score ?? .nan))) \(engine.best?.key ?? "")")
      }
    }
    bar.finish()
    if case .infeasible(let why) = engine.status, engine.history.isEmpty {
      throw CommandLineError.failure("the constraints cannot be met: \(why)")
    }
    if case .infeasible(let why) = engine.status { Log.warning("stopped early: \(why)") }
    if engine.status == .exhausted { Log.warning("every reachable architecture was evaluated before the budget ran out") }

    let entry = { (e: SearchEngine.Evaluation) -> Entry in
      let ev = evaluations[e.key]!
      return Entry(arch: ev.arch, key: e.key, score: sign * e.score, params: ev.params, macs: ev.macs)
    }
    let report = Report(
      id: nil, best: engine.best(try args.int("top", range: 1...10_000)!).map(entry),
      pareto: paretoFront(engine.history, score: { $0.score }, cost: { evaluations[$0.key]!.macs }).map(entry),
      evaluations: engine.history.count, evaluationsToBest: engine.evaluationsToBest, status: "\(engine.status)",
      proxy: proxy.rawValue, seconds: Date().timeIntervalSince(start))
    if args.flag("json") { try JSONOutput.print(report) } else { printReport(report) }
  }

  /// The objective (`--proxy`).
  static func proxy(_ args: ParsedArguments) throws -> Proxy {
    guard let proxy = Proxy(rawValue: args.string("proxy", default: "ensemble")) else {
      throw args.usageError("unknown proxy '\(args.string("proxy", default: ""))' (known: \(Proxy.allCases.map(\.rawValue).joined(separator: ", ")))")
    }
    return proxy
  }

  /// Strategy, population, tournament, budget and seed, as `--local` and `start` read them.
  static func configuration(_ args: ParsedArguments) throws -> SearchConfiguration {
    guard let strategy = SearchConfiguration.Strategy(rawValue: args.string("strategy", default: "evolution")) else {
      throw args.usageError("--strategy must be evolution or random")
    }
    return SearchConfiguration(
      strategy: strategy, population: try args.int("population", range: SearchConfiguration.Limits.population)!,
      sample: try args.int("sample", range: SearchConfiguration.Limits.population)!,
      budget: try args.int("budget", range: SearchConfiguration.Limits.budget)!,
      seed: try ScoringOptions.seed(args), window: try args.int("window", range: SearchConfiguration.Limits.window)!)
  }

  /// The parameter, MAC and latency limits.
  static func constraints(_ args: ParsedArguments) throws -> Constraints {
    Constraints(
      maxParams: try args.int("max-params", range: 1...Int(1e12)), maxMACs: try args.int("max-macs", range: 1...Int(1e15)),
      maxLatencyMilliseconds: try args.double("max-latency-ms", range: 0.001...1e6))
  }

  static func printReport(_ r: Report) {
    func table(_ entries: [Entry]) -> String {
      var t = Table(headers: ["#", "key", r.proxy, "params", "MMACs"])
      for (i, e) in entries.enumerated() {
        t.append(["\(i + 1)", e.key, String(format: "%.6g", e.score), "\(e.params)", String(format: "%.2f", Double(e.macs) / 1e6)])
      }
      return t.render()
    }
    if let id = r.id { print("Search \(id), \(r.status):") }
    print("Best \(r.best.count) of \(r.evaluations) evaluations (best first seen after \(r.evaluationsToBest ?? 0), \(String(format: "%.1f", r.seconds)) s):")
    print(table(r.best), terminator: "")
    print("\nPareto front, \(r.proxy) against MACs:")
    print(table(r.pareto), terminator: "")
  }
}
