import DiswotCommandLine
import DiswotJSON
import DiswotScoring
import DiswotSearch
import DiswotWire
import Foundation

/// `diswot search start|status|watch|list|best|cancel|pause|resume`: searches run by diswotd.
/// `start` takes the options of `search --local` that describe the search (the same lists,
/// `SearchCommand.searchOptions` and `ScoringOptions.options`) and sends the same
/// `ScoringSpec`, `SearchConfiguration` and `Constraints`, so the daemon's workers score
/// each architecture exactly as the local search would.
enum SearchDaemonCommands {
  static let subcommands: [CommandSpec] = [
    CommandSpec(
      "start", abstract: "Start a search on the daemon (the search options of 'search --local').",
      discussion: """
        Prints the search id. With --wait it follows the search's events (a progress bar on \
        a terminal, plain lines otherwise), survives a daemon restart, and prints the best \
        architectures, Pareto front and unscorable candidates as 'search --local' does; the \
        exit status is then 0 finished, 1 failed (e.g. no candidate could be scored), 5 \
        cancelled. Everything that can be checked here (options in range, the search space, \
        the files named) is checked before the daemon is contacted.
        """,
      options: [
        .flag("wait", help: "Follow the search until it ends and print its result."),
        .value("name", valueName: "text", help: "A name for listings."),
      ] + SearchCommand.searchOptions + ScoringOptions.options + DaemonOptions.options + DaemonOptions.events),
    CommandSpec("status", abstract: "Show a search's state, progress and best so far.", positionals: "<id>", options: DaemonOptions.options),
    CommandSpec(
      "watch", abstract: "Follow a search as 'start --wait' does (e.g. again after a Ctrl-C of it).",
      discussion: """
        The same progress and final report as 'search start --wait', and the same exit \
        status: 0 finished, 1 failed, 5 cancelled; a search that already ended is reported \
        at once. Ctrl-C stops following, not the search.
        """, positionals: "<id>",
      options: [.value("top", short: "k", valueName: "k", default: "10", help: "How many of the best to report.")] + DaemonOptions.options),
    CommandSpec(
      "list", abstract: "List the daemon's searches, newest first.",
      options: [.value("limit", valueName: "n", default: "100", help: "At most this many.")] + DaemonOptions.options),
    CommandSpec(
      "best", abstract: "The k best architectures of a search (arch, key, score, params, MACs), and up to k unscorable ones.", positionals: "<id>",
      options: [.value("top", short: "k", valueName: "k", default: "10", help: "How many.")] + DaemonOptions.options),
    CommandSpec("cancel", abstract: "Cancel a search (its evaluations are kept).", positionals: "<id>", options: DaemonOptions.options),
    CommandSpec("pause", abstract: "Pause a search: no new candidates are sent out.", positionals: "<id>", options: DaemonOptions.options),
    CommandSpec("resume", abstract: "Resume a paused search.", positionals: "<id>", options: DaemonOptions.options),
  ]

  static func run(_ args: ParsedArguments) throws {
    let client = try DaemonClient(args, followsEvents: args.subcommandPath.last == "start")
    let json = args.flag("json")
    switch args.subcommandPath.last {
    case "start": try start(args, client)
    case "status":
      let status = try client.request(.searchStatus, ["id": .string(try id(args))])
      if json { try JSONOutput.print(status) } else { print(describe(status)) }
    case "watch":
      try wait(id: try id(args), client: client, args: args, started: nil)
    case "list":
      let list = try client.request(.searchList, ["limit": .int(try args.int("limit", range: 1...1000)!)])
      if json { try JSONOutput.print(list) } else {
        var table = Table(headers: ["id", "state", "evaluated", "space", "proxy", "best", "name"])
        for s in list["searches"].arrayValue ?? [] {
          table.append([
            s["id"].stringValue ?? "", s["state"].stringValue ?? "",
            "\(s["evaluations"].intValue ?? 0)/\(s["budget"].intValue ?? 0)", s["space"].stringValue ?? "",
            s["proxy"].stringValue ?? "", s["best"]["score"].doubleValue.map { String(format: "%.6g", $0) } ?? "-",
            s["name"].stringValue ?? "",
          ])
        }
        print(table.render(), terminator: "")
      }
    case "best":
      let best = try client.request(.searchBest, ["id": .string(try id(args)), "k": .int(try args.int("top", range: 1...10_000)!)])
      if json { try JSONOutput.print(best) } else {
        var table = Table(headers: ["#", "key", best["proxy"].stringValue ?? "score", "params", "MMACs", "arch"])
        for (i, e) in (best["best"].arrayValue ?? []).enumerated() {
          table.append([
            "\(i + 1)", e["key"].stringValue ?? "", String(format: "%.6g", e["score"].doubleValue ?? .nan), "\(e["params"].intValue ?? 0)",
            String(format: "%.2f", Double(e["macs"].intValue ?? 0) / 1e6), e["arch"].compactText,
          ])
        }
        print(table.render(), terminator: "")
        let unscorable = best["unscorable"].arrayValue ?? []
        if !unscorable.isEmpty { print("\nUnscorable (\(unscorable.count) shown, not ranked):") }
        for u in unscorable { print("  \(u["key"].stringValue ?? ""): \(u["reason"].stringValue ?? "")") }
      }
    case "cancel", "pause", "resume":
      let command: ClientCommand = switch args.subcommandPath.last {
      case "cancel": .searchCancel
      case "pause": .searchPause
      default: .searchResume
      }
      let reply = try client.request(command, ["id": .string(try id(args))])
      if json { try JSONOutput.print(reply) } else { print("\(reply["id"].stringValue ?? "") \(reply["state"].stringValue ?? "")") }
    default:
      throw args.usageError("unknown search command")
    }
  }

  static func id(_ args: ParsedArguments) throws -> String {
    guard args.positionals.count == 1 else { throw args.usageError("give one search id") }
    return args.positionals[0]
  }

  /// The `search.start` body, from the same options as `search --local`, checked as far as
  /// this machine can (see `LocalChecks`).
  static func requestBody(_ args: ParsedArguments) throws -> [String: JSONValue] {
    var scoring = try ScoringOptions.spec(args, proxies: [try SearchCommand.proxy(args)])
    let configuration = try SearchCommand.configuration(args), constraints = try SearchCommand.constraints(args)
    try LocalChecks.scoring(scoring)
    scoring.space = ClientPaths.absoluteSpace(scoring.space)
    scoring.data = ClientPaths.absoluteData(scoring.data)
    scoring.teacher.weights = scoring.teacher.weights.map(ClientPaths.absolute)
    var body: [String: JSONValue] = [
      "scoring": try .encoding(scoring), "search": try .encoding(configuration), "constraints": try .encoding(constraints),
    ]
    if let name = args.string("name") { body["name"] = .string(name) }
    return body
  }

  private static func start(_ args: ParsedArguments, _ client: DaemonClient) throws {
    let started = Date()
    let body = try requestBody(args)
    let id = try client.request(.searchStart, body)["id"].stringValue ?? ""
    guard args.flag("wait") else {
      if args.flag("json") { try JSONOutput.print(JSONValue.object(["id": .string(id)])) } else { print(id) }
      return
    }
    Log.info("search \(id) started (Ctrl-C stops following it; 'diswot search watch \(id)' follows it again)")
    try wait(id: id, client: client, args: args, started: started)
  }

  /// Follows a search to its end: events drive the progress bar, a status request every
  /// 2 s (retried through daemon restarts) decides when it is over. The report's seconds
  /// count from `started`, or, when nil (`watch`), are the search's own, from its
  /// creation to its last update.
  static func wait(id: String, client: DaemonClient, args: ParsedArguments, started: Date?) throws {
    let topic = EventTopic.search(id)
    let events = try client.subscribe(topic)
    defer { events.close() }
    var status = try client.patientRequest(.searchStatus, ["id": .string(id)])
    let proxy = status["proxy"].stringValue ?? "score"
    let bar = ProgressBar(total: status["budget"].intValue, label: "search \(id)")
    // Candidates done: scored plus unscorable (both spend the budget).
    var (evaluated, unscorable) = (0, 0)
    func show(_ bestScore: Double?, _ bestKey: String?) {
      bar.update(
        completed: evaluated + unscorable,
        detail: bestScore.map { "best \(proxy) \(String(format: "%.5g", $0)) \(bestKey ?? "")" })
    }
    var nextStatus = Date()
    while true {
      if Date() >= nextStatus {
        status = try client.patientRequest(.searchStatus, ["id": .string(id)])
        (evaluated, unscorable) = (status["evaluations"].intValue ?? 0, status["unscorable"].intValue ?? 0)
        show(status["best"]["score"].doubleValue, status["best"]["key"].stringValue)
        if let state = status["state"].stringValue, !["running", "paused"].contains(state) { break }
        nextStatus = Date().addingTimeInterval(2)
      }
      if let event = DaemonClient.nextEvent(events, topic: topic, milliseconds: 500) {
        switch event["event"]?.stringValue {
        case "evaluated":
          evaluated = event["evaluations"]?.intValue ?? evaluated
          show(event["best_score"]?.doubleValue, event["best_key"]?.stringValue)
        case "unscorable":
          unscorable = event["unscorable"]?.intValue ?? unscorable
          show(status["best"]["score"].doubleValue, status["best"]["key"].stringValue)
        case "state":
          nextStatus = Date()  // confirm with a status request
        default: break
        }
      }
    }
    bar.finish()
    let state = status["state"].stringValue ?? ""
    let best = try client.patientRequest(.searchBest, ["id": .string(id), "k": .int(try args.int("top", range: 1...10_000)!), "pareto": true])
    let entry = { (e: JSONValue) in
      SearchCommand.Entry(
        arch: e["arch"], key: e["key"].stringValue ?? "", score: e["score"].doubleValue ?? .nan, params: e["params"].intValue ?? 0,
        macs: e["macs"].intValue ?? 0)
    }
    let report = SearchCommand.Report(
      id: id, best: (best["best"].arrayValue ?? []).map(entry), pareto: (best["pareto"].arrayValue ?? []).map(entry),
      evaluations: status["evaluations"].intValue ?? 0, evaluationsToBest: status["best"]["index"].intValue,
      unscorable: (best["unscorable"].arrayValue ?? []).map {
        SearchCommand.UnscorableEntry(arch: $0["arch"], key: $0["key"].stringValue ?? "", reason: $0["reason"].stringValue ?? "")
      },
      status: state == "finished" ? (status["engine_status"].stringValue ?? state) : state, error: status["error"].stringValue,
      proxy: proxy, seconds: started.map { Date().timeIntervalSince($0) } ?? lifetime(status), spec: best["spec"])
    if args.flag("json") {
      try JSONOutput.print(report)
    } else if state == "finished" || report.evaluations > 0 || !report.unscorable.isEmpty {
      SearchCommand.printReport(report)
    }
    switch state {
    case "finished": break
    case "cancelled": throw CommandLineError.cancelled("search \(id) was cancelled")
    default: throw CommandLineError.failure("search \(id) \(state): \(status["error"].stringValue ?? "no reason given")")
    }
  }

  /// Seconds from a status's `created` to its `updated` (0 if either is unreadable).
  static func lifetime(_ status: JSONValue) -> Double {
    let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    guard let created = try? style.parse(status["created"].stringValue ?? ""),
      let updated = try? style.parse(status["updated"].stringValue ?? "")
    else { return 0 }
    return updated.timeIntervalSince(created)
  }

  /// One line about a search.
  static func describe(_ s: JSONValue) -> String {
    var line = "\(s["id"].stringValue ?? "") \(s["state"].stringValue ?? ""): \(s["evaluations"].intValue ?? 0)/\(s["budget"].intValue ?? 0) evaluated"
    if let n = s["unscorable"].intValue, n > 0 { line += ", \(n) unscorable" }
    if let out = s["in_flight"].intValue, out > 0 { line += ", \(out) being scored" }
    if let score = s["best"]["score"].doubleValue {
      line += ", best \(s["proxy"].stringValue ?? "score") \(String(format: "%.6g", score)) \(s["best"]["key"].stringValue ?? "")"
    }
    if let error = s["error"].stringValue { line += " (\(error))" }
    return line
  }
}
