import DiswotCommandLine
import DiswotJSON
import DiswotScoring
import DiswotWire
import Foundation

/// `diswot teachers start|status|watch`: the ranking of `diswot teachers` as a daemon job,
/// run by a worker (`teachers.start`, Docs/protocol.md). `start` takes the local command's
/// ranking options (`TeachersCommand.rankingOptions`, read by the same
/// `TeachersCommand.rankingSpec`), and a finished job prints the same table or `--json`.
enum TeachersDaemonCommands {
  static let subcommands: [CommandSpec] = [
    CommandSpec(
      "start", abstract: "Queue a teacher ranking on the daemon (the ranking options of 'diswot teachers').",
      discussion: """
        The daemon checks the request as it arrives (the data and every candidate inside its \
        data root, the files readable, --k below the number of images) and a worker with the \
        teachers capability runs it, as 'diswot teachers' would run it here. Prints the job \
        id; with --wait it follows the job and prints the ranking as 'diswot teachers' does \
        (the same table, or the same --json). The result stays in the daemon's store: \
        'diswot teachers status ID' shows it later, across daemon restarts.
        """,
      options: [
        .value("name", valueName: "text", help: "A name for listings."),
        .flag("wait", help: "Follow the job until it ends and print the ranking."),
      ] + TeachersCommand.rankingOptions + DaemonOptions.options + DaemonOptions.events),
    CommandSpec(
      "status", abstract: "Show a teacher ranking's state, progress or ranking (--json: the job's status object).",
      positionals: "<id>", options: DaemonOptions.options),
    CommandSpec(
      "watch", abstract: "Follow a teacher ranking as 'start --wait' does and print its ranking.",
      discussion: """
        The same progress and output as 'teachers start --wait', and the same exit status: 0 \
        finished, 1 failed, 5 cancelled ('diswot train cancel ID' cancels a ranking too); a \
        job that already ended is reported at once. Ctrl-C stops following, not the job.
        """, positionals: "<id>", options: DaemonOptions.options),
  ]

  static func run(_ args: ParsedArguments) throws {
    let client = try DaemonClient(args, followsEvents: args.subcommandPath.last == "start")
    switch args.subcommandPath.last {
    case "start": try start(args, client)
    case "status":
      let status = try client.request(.teachersStatus, ["id": .string(try id(args))])
      if args.flag("json") { return try JSONOutput.print(status) }
      if let report = try report(status) { return try TeachersCommand.show(report, json: false) }
      print(describe(status))
    case "watch": try wait(id: try id(args), client: client, args: args)
    default: throw args.usageError("unknown teachers command")
    }
  }

  static func id(_ args: ParsedArguments) throws -> String {
    guard args.positionals.count == 1 else { throw args.usageError("give one teacher-ranking id") }
    return args.positionals[0]
  }

  private static func start(_ args: ParsedArguments, _ client: DaemonClient) throws {
    let spec = try TeachersCommand.rankingSpec(args, absolutePaths: true)
    try LocalChecks.teachers(spec)
    var body: [String: JSONValue] = ["spec": try .encoding(spec)]
    if let name = args.string("name") { body["name"] = .string(name) }
    let reply = try client.request(.teachersStart, body)
    let id = reply["id"].stringValue ?? ""
    guard args.flag("wait") else {
      if args.flag("json") { try JSONOutput.print(reply) } else { print(id) }
      return
    }
    Log.info("teacher ranking \(id) queued (Ctrl-C stops following it; 'diswot teachers watch \(id)' follows it again)")
    try wait(id: id, client: client, args: args)
  }

  /// Follows a job as `train watch` does: progress events drive the bar, status requests
  /// decide the end; a finished job prints its ranking as the local command does.
  static func wait(id: String, client: DaemonClient, args: ParsedArguments) throws {
    let topic = EventTopic.teachers(id)
    let events = try client.subscribe(topic)
    defer { events.close() }
    var bar: ProgressBar?
    func show(_ p: JSONValue) {
      guard let candidate = p["candidate"].intValue, let candidates = p["candidates"].intValue, let images = p["of"].intValue else { return }
      if bar == nil { bar = ProgressBar(total: candidates * images, label: "teachers \(id)", unit: "images") }
      let file = URL(fileURLWithPath: p["weights"].stringValue ?? "").lastPathComponent
      bar?.update(completed: (candidate - 1) * images + (p["images"].intValue ?? 0), detail: "candidate \(candidate)/\(candidates): \(file)")
    }
    var status = JSONValue.null
    var nextStatus = Date()
    while true {
      if Date() >= nextStatus {
        status = try client.patientRequest(.teachersStatus, ["id": .string(id)])
        show(status["progress"])
        if let state = status["state"].stringValue, !["queued", "running"].contains(state) { break }
        nextStatus = Date().addingTimeInterval(2)
      }
      if let event = DaemonClient.nextEvent(events, topic: topic, milliseconds: 500) {
        if event["event"]?.stringValue == "progress" { show(.object(event)) } else { nextStatus = Date() }
      }
    }
    bar?.finish()
    switch status["state"].stringValue {
    case "finished":
      guard let report = try report(status) else { throw CommandLineError.failure("teacher ranking \(id) finished without a ranking") }
      try TeachersCommand.show(report, json: args.flag("json"))
    case "cancelled": throw CommandLineError.cancelled("teacher ranking \(id) was cancelled")
    default: throw CommandLineError.failure("teacher ranking \(id) failed: \(status["error"].stringValue ?? "no reason given")")
    }
  }

  /// A finished job's ranking (its `result`), nil before it has one.
  static func report(_ status: JSONValue) throws -> TeacherRankingReport? {
    guard status["result"] != .null else { return nil }
    do { return try JSONDecoder().decode(TeacherRankingReport.self, from: Data(status["result"].compactText.utf8)) } catch {
      throw CommandLineError.failure("the daemon's ranking cannot be read: \(error)")
    }
  }

  /// One line about a job that has no ranking yet.
  static func describe(_ s: JSONValue) -> String {
    var line = "\(s["id"].stringValue ?? "") \(s["state"].stringValue ?? "")"
    let p = s["progress"]
    if let candidate = p["candidate"].intValue, let candidates = p["candidates"].intValue {
      line += ": candidate \(candidate)/\(candidates), \(p["images"].intValue ?? 0)/\(p["of"].intValue ?? 0) images"
    }
    if let error = s["error"].stringValue { line += " (\(error))" }
    return line
  }
}
