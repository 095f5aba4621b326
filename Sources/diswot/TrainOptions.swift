import DiswotCommandLine
import DiswotDistillation
import DiswotJSON
import DiswotWire
import Foundation

/// `diswot train start|status|list|watch|cancel`: training jobs run by diswotd's training workers.
/// `start` takes `diswot train`'s options that describe the run (the same list,
/// `TrainCommand.trainingOptions`, read by `TrainCommand.trainingSpec`), plus `--search ID`
/// to train that search's best architecture.
enum TrainDaemonCommands {
  static let subcommands: [CommandSpec] = [
    CommandSpec(
      "start", abstract: "Queue a training job on the daemon (the training options of 'diswot train').",
      discussion: """
        The student is --search ID (the daemon takes that finished search's best \
        architecture), or --student / --space with --arch as for 'diswot train'. Distillation \
        needs --teacher-weights, as for 'diswot train' (usually the search's teacher). The job \
        runs on a worker with the train capability in <state dir>/jobs/<id>, checkpointing \
        as it goes; after a crash of the worker or the daemon it resumes from its last \
        checkpoint. Prints the job id; with --wait it follows the job and prints its result. \
        Everything that can be checked here (options in range, the files named) is checked \
        before the daemon is contacted.
        """,
      options: [
        .value("search", valueName: "id", help: "Train the best architecture of this finished search."),
        .value("name", valueName: "text", help: "A name for listings."),
        .flag("wait", help: "Follow the job until it ends and print its result."),
      ] + TrainCommand.trainingOptions + DaemonOptions.options + DaemonOptions.events),
    CommandSpec("status", abstract: "Show a training job's progress (epoch, loss, accuracy, images/s) or result.", positionals: "<id>", options: DaemonOptions.options),
    CommandSpec(
      "list", abstract: "List the daemon's training jobs, newest first: state, progress, test accuracy.",
      options: [.value("limit", valueName: "n", default: "100", help: "At most this many.")] + DaemonOptions.options),
    CommandSpec(
      "watch", abstract: "Follow a training job as 'start --wait' does (e.g. again after a Ctrl-C of it).",
      discussion: """
        The same progress and result as 'train start --wait', and the same exit status: 0 \
        finished, 1 failed, 5 cancelled; a job that already ended is reported at once. \
        Ctrl-C stops following, not the job.
        """, positionals: "<id>",
      options: DaemonOptions.options),
    CommandSpec("cancel", abstract: "Cancel a training job (it checkpoints first).", positionals: "<id>", options: DaemonOptions.options),
  ]

  static func run(_ args: ParsedArguments) throws {
    let client = try DaemonClient(args, followsEvents: args.subcommandPath.last == "start")
    switch args.subcommandPath.last {
    case "start": try start(args, client)
    case "status":
      let status = try client.request(.trainStatus, ["id": .string(try SearchDaemonCommands.id(args))])
      if args.flag("json") { try JSONOutput.print(status) } else { print(describe(status)) }
    case "list": try list(args, client)
    case "watch": try wait(id: try SearchDaemonCommands.id(args), client: client, args: args)
    case "cancel":
      let reply = try client.request(.trainCancel, ["id": .string(try SearchDaemonCommands.id(args))])
      if args.flag("json") { try JSONOutput.print(reply) } else { print("\(reply["id"].stringValue ?? "") \(reply["state"].stringValue ?? "")") }
    default:
      throw args.usageError("unknown train command")
    }
  }

  /// The `train.start` body, checked as far as this machine can (see `LocalChecks`).
  static func requestBody(_ args: ParsedArguments) throws -> [String: JSONValue] {
    let searching = args.isSet("search")
    let spec = try TrainCommand.trainingSpec(args, studentGiven: !searching)
    if searching && spec.student != TrainingSpec.Student() {
      throw args.usageError("give --search ID or a student (--student, --space/--arch), not both")
    }
    try LocalChecks.training(spec)
    var body: [String: JSONValue] = ["spec": try .encoding(spec)]
    if let search = args.string("search") { body["search_id"] = .string(search) }
    if let name = args.string("name") { body["name"] = .string(name) }
    return body
  }

  private static func start(_ args: ParsedArguments, _ client: DaemonClient) throws {
    let reply = try client.request(.trainStart, try requestBody(args))
    let id = reply["id"].stringValue ?? ""
    guard args.flag("wait") else {
      if args.flag("json") { try JSONOutput.print(reply) } else { print(id) }
      return
    }
    Log.info("training job \(id) queued; student \(reply["student"].compactText) (Ctrl-C stops following it; 'diswot train watch \(id)' follows it again)")
    try wait(id: id, client: client, args: args)
  }

  private static func list(_ args: ParsedArguments, _ client: DaemonClient) throws {
    let list = try client.request(.trainList, ["limit": .int(try args.int("limit", range: 1...1000)!)])
    if args.flag("json") { return try JSONOutput.print(list) }
    var table = Table(headers: ["id", "state", "epoch", "test acc", "student", "name"])
    for job in list["jobs"].arrayValue ?? [] {
      let (progress, result) = (job["progress"], job["result"])
      let epochs = job["epochs"].intValue ?? 0
      let accuracy = result["test_accuracy"].doubleValue ?? progress["test_accuracy"].doubleValue
      // A teacher ranking (`teachers start`) is listed too; it has candidates, no student.
      let ranking = job["request"]["candidates"].arrayValue.map { "teachers: \($0.count) candidates" }
      let student = ranking ?? job["student"]["name"].stringValue ?? job["search_id"].stringValue.map { "best of \($0)" } ?? job["student"]["space"].stringValue ?? ""
      let epoch = ranking != nil ? "-" : result["epochs"].intValue.map { "\($0)/\($0)" } ?? progress["epoch"].intValue.map { "\($0)/\(epochs)" } ?? "-/\(epochs)"
      table.append([
        job["id"].stringValue ?? "", job["state"].stringValue ?? "", epoch,
        accuracy.map { String(format: "%.2f %%", $0 * 100) } ?? "-", student, job["name"].stringValue ?? "",
      ])
    }
    print(table.render(), terminator: "")
  }

  /// Follows a job: progress events drive the bar, status requests decide the end.
  static func wait(id: String, client: DaemonClient, args: ParsedArguments) throws {
    let topic = EventTopic.train(id)
    let events = try client.subscribe(topic)
    defer { events.close() }
    let bar = TrainingProgressBar(label: "train \(id)")
    func show(_ p: JSONValue) { TrainingProgress(p).map(bar.show) }
    var status = JSONValue.null
    var nextStatus = Date()
    while true {
      if Date() >= nextStatus {
        status = try client.patientRequest(.trainStatus, ["id": .string(id)])
        show(status["progress"])
        if let state = status["state"].stringValue, !["queued", "running"].contains(state) { break }
        nextStatus = Date().addingTimeInterval(2)
      }
      if let event = DaemonClient.nextEvent(events, topic: topic, milliseconds: 500) {
        if event["event"]?.stringValue == "progress" { show(.object(event)) } else { nextStatus = Date() }
      }
    }
    bar.finish()
    if args.flag("json") { try JSONOutput.print(status) } else { print(describe(status)) }
    switch status["state"].stringValue {
    case "finished": break
    case "cancelled": throw CommandLineError.cancelled("training job \(id) was cancelled")
    default: throw CommandLineError.failure("training job \(id) failed: \(status["error"].stringValue ?? "no reason given")")
    }
  }

  /// One line (or two) about a job.
  static func describe(_ s: JSONValue) -> String {
    var line = "\(s["id"].stringValue ?? "") \(s["state"].stringValue ?? "")"
    if let progress = TrainingProgress(s["progress"]) { line += ": " + progress.text }
    let r = s["result"]
    if let accuracy = r["test_accuracy"].doubleValue {
      line += String(
        format: "\ntest accuracy %.2f %% (%d/%d) after %d epochs, %.0f s; student: %@", accuracy * 100, r["test_correct"].intValue ?? 0,
        r["test_samples"].intValue ?? 0, r["epochs"].intValue ?? 0, r["seconds"].doubleValue ?? 0, r["student"].stringValue ?? "")
      if let epoch = r["resumed_from_epoch"].intValue { line += " (resumed from epoch \(epoch))" }
    }
    if let error = s["error"].stringValue { line += " (\(error))" }
    return line
  }
}
