import DiswotCommandLine
import DiswotJSON
import DiswotModels
import DiswotScoring
import DiswotSearch
import DiswotWire
import Foundation

/// `diswot search --local`: an evolutionary search in this process; `diswot search start`
/// and its siblings (SearchDaemonCommands.swift): the same search through diswotd.
enum SearchCommand {
  static let spec = CommandSpec(
    "search", abstract: "Search a space for the best student under a budget.",
    discussion: """
      With --local the search runs in this process: aging evolution (or random search) \
      proposes candidates, each is scored like 'diswot score' does, and candidates over the \
      parameter, MAC or latency limits, or whose estimated memory is over --max-memory, are \
      never evaluated (a space none of whose architectures fits is refused at once). A \
      candidate whose objective is not finite is unscorable: it spends its evaluation, is \
      reported with the reason and never ranked; a search that ends without any finite \
      score has failed (exit 1). The same seed gives the same search, here or through \
      diswotd with any number of workers. 'diswot search start' runs it through diswotd on \
      its workers instead (same options), and the other subcommands follow and steer \
      daemon searches.
      """,
    options: [
      .flag("local", help: "Run the search in this process (else use a subcommand: start, status, …)."),
      .json,
      .value("jsonl", valueName: "file", help: "Also write every evaluation as a JSON line to this file ('-': standard output)."),
    ] + searchOptions + ScoringOptions.options + ScoringOptions.localOptions,
    subcommands: SearchDaemonCommands.subcommands, runnable: true)

  /// What a search is, wherever it runs: `search --local` and `search start` (which sends
  /// them to diswotd) both take these, with the scoring options.
  static let searchOptions: [OptionSpec] = [
    .value("proxy", valueName: "name", default: "ensemble", help: "What to maximise: \(Proxy.allCases.map(\.rawValue).joined(separator: ", ")) (semantic and relation are minimised)."),
    .value("strategy", valueName: "evolution|random", default: "evolution", help: "Aging evolution, or random search as a baseline."),
    .value("population", valueName: "P", default: "10", help: "Population size of aging evolution."),
    .value("tournament", valueName: "S", default: "3", help: "Tournament size: population members drawn per step, the best of which is mutated (at most P)."),
    .value("budget", valueName: "N", default: "100", help: "Evaluations to spend."),
    .value("window", valueName: "W", default: "\(SearchConfiguration.defaultWindow)", help: "Candidates in flight: results are applied in proposal order, so the same W gives the same search with any number of workers (a larger W keeps more workers busy)."),
    .value("max-params", valueName: "n", help: "Largest parameter count allowed."),
    .value("max-macs", valueName: "n", help: "Largest MAC count (one image) allowed."),
    .value("max-latency-ms", valueName: "ms", help: "Largest batch-1 forward latency on this machine."),
    .value("top", valueName: "k", default: "5", help: "How many of the best (and of the unscorable) architectures to report."),
  ]

  /// One reported architecture.
  struct Entry: Encodable {
    var arch: JSONValue
    var key: String
    var score: Double
    var params: Int
    var macs: Int
  }

  /// A candidate that could not be scored, and why.
  struct UnscorableEntry: Encodable {
    var arch: JSONValue
    var key: String
    var reason: String
  }

  /// What `--json` prints (`id` only for daemon searches; `error` only for failed ones).
  struct Report: Encodable {
    var id: String?
    var best: [Entry]
    var pareto: [Entry]
    var evaluations: Int
    var evaluationsToBest: Int?
    var unscorable: [UnscorableEntry]
    var status: String
    var error: String?
    var proxy: String
    var seconds: Double
    /// How the results were made (`Provenance`), null for a daemon search stored before
    /// it was recorded.
    var spec: JSONValue

    enum CodingKeys: String, CodingKey {
      case id, best, pareto, evaluations, unscorable, status, error, proxy, seconds, spec
      case evaluationsToBest = "evaluations_to_best"
    }
  }

  static func run(_ args: ParsedArguments) throws {
    guard args.flag("local") else {
      throw args.usageError("give --local to search in this process, or a subcommand (start, status, list, best, cancel, pause, resume) to use diswotd")
    }
    try ScoringOptions.configureThreads(args)
    let proxy = try proxy(args)
    let session = try ScoringOptions.session(
      try ScoringOptions.spec(args, proxies: [proxy]), memoryLimit: try ScoringOptions.memoryLimit(args))
    let strategy = try configuration(args).strategy
    var engine = try SearchEngine(configuration: try configuration(args))
    let costs = CostModel(space: session.space, constraints: try constraints(args), memory: session.memory)
    if args.flag("json") && args.string("jsonl") == "-" { throw args.usageError("--json and --jsonl - would both write to standard output") }
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
        try jsonl?.write(evaluation)
        if let reason = evaluation.unscorable {
          engine.recordUnscorable(key: p.key, reason: reason, space: session.space, isFeasible: costs.isFeasible)
          Log.warning("\(p.key) is unscorable: \(reason)")
        } else {
          evaluations[p.key] = evaluation
          engine.record(key: p.key, score: sign * evaluation.scores[proxy.rawValue]!, space: session.space, isFeasible: costs.isFeasible)
        }
        bar.advance(detail: engine.best.map { "best \(String(format: "%.5g", sign * $0.score)) \($0.key)" } ?? "no score yet")
      }
    }
    bar.finish()
    if case .infeasible(let why) = engine.status, engine.history.isEmpty, engine.unscorable.isEmpty {
      throw CommandLineError.failure("the constraints cannot be met: \(why)")
    }
    if case .infeasible(let why) = engine.status, engine.failure == nil { Log.warning("stopped early: \(why)") }
    if engine.status == .exhausted { Log.warning("every reachable architecture was evaluated before the budget ran out") }
    if costs.overMemory > 0 {
      Log.info("\(costs.overMemory) architecture(s) met were never proposed: scoring them needs more than --max-memory \(session.memory.limit)")
    }

    let entry = { (e: SearchEngine.Evaluation) -> Entry in
      let ev = evaluations[e.key]!
      return Entry(arch: ev.arch, key: e.key, score: sign * e.score, params: ev.params, macs: ev.macs)
    }
    let report = Report(
      id: nil, best: engine.best(try args.int("top", range: 1...10_000)!).map(entry),
      pareto: paretoFront(engine.history, score: { $0.score }, cost: { evaluations[$0.key]!.macs }).map(entry),
      evaluations: engine.history.count, evaluationsToBest: engine.evaluationsToBest,
      unscorable: engine.unscorable.prefix(try args.int("top", range: 1...10_000)!).map {
        UnscorableEntry(arch: session.space.json(of: $0.genotype), key: $0.key, reason: $0.reason)
      },
      status: engine.failure == nil ? engine.status.description : "failed", error: engine.failure,
      proxy: proxy.rawValue, seconds: Date().timeIntervalSince(start),
      spec: try .encoding(try Provenance(session: session, proxy: proxy, version: WireProtocol.softwareVersion)))
    if args.flag("json") { try JSONOutput.print(report) } else { printReport(report) }
    if let failure = engine.failure { throw CommandLineError.failure(failure) }
  }

  /// The objective (`--proxy`).
  static func proxy(_ args: ParsedArguments) throws -> Proxy {
    guard let proxy = Proxy(rawValue: args.string("proxy", default: "ensemble")) else {
      throw args.usageError("unknown proxy '\(args.string("proxy", default: ""))' (known: \(Proxy.allCases.map(\.rawValue).joined(separator: ", ")))")
    }
    return proxy
  }

  /// Strategy, population, tournament, budget and seed, as `--local` and `start` read them,
  /// checked by `SearchConfiguration.validate()` (the daemon's check): out of range is a
  /// usage error (exit 2) before anything runs.
  static func configuration(_ args: ParsedArguments) throws -> SearchConfiguration {
    guard let strategy = SearchConfiguration.Strategy(rawValue: args.string("strategy", default: "evolution")) else {
      throw args.usageError("--strategy must be evolution or random")
    }
    let configuration = SearchConfiguration(
      strategy: strategy, population: try args.int("population", range: SearchConfiguration.Limits.population)!,
      sample: try args.int("tournament", range: SearchConfiguration.Limits.population)!,
      budget: try args.int("budget", range: SearchConfiguration.Limits.budget)!,
      seed: try ScoringOptions.seed(args), window: try args.int("window", range: SearchConfiguration.Limits.window)!)
    do { try configuration.validate() } catch { throw usageError(args, error) }
    return configuration
  }

  /// The parameter, MAC and latency limits, checked by `Constraints.validate()`.
  static func constraints(_ args: ParsedArguments) throws -> Constraints {
    let constraints = Constraints(
      maxParams: try args.int("max-params", range: Constraints.Limits.maxParams),
      maxMACs: try args.int("max-macs", range: Constraints.Limits.maxMACs),
      maxLatencyMilliseconds: try args.double("max-latency-ms", range: Constraints.Limits.maxLatencyMilliseconds))
    do { try constraints.validate() } catch { throw usageError(args, error) }
    return constraints
  }

  /// A refused setting as a usage error.
  private static func usageError(_ args: ParsedArguments, _ error: SearchError) -> CommandLineError {
    guard case .invalidConfiguration(let message) = error else { return args.usageError(error.description) }
    return args.usageError(message)
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
    if r.best.isEmpty {
      print("No finite score in \(String(format: "%.1f", r.seconds)) s\(r.error.map { ": \($0)" } ?? "").")
    } else {
      print("Best \(r.best.count) of \(r.evaluations) evaluations (best first seen after \(r.evaluationsToBest ?? 0), \(String(format: "%.1f", r.seconds)) s):")
      print(table(r.best), terminator: "")
      print("\nPareto front, \(r.proxy) against MACs:")
      print(table(r.pareto), terminator: "")
    }
    guard !r.unscorable.isEmpty else { return }
    print("\(r.best.isEmpty ? "" : "\n")Unscorable (\(r.unscorable.count), not ranked):")
    for u in r.unscorable { print("  \(u.key): \(u.reason)") }
  }
}
