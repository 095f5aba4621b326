import DiswotCommandLine
import DiswotDistillation
import DiswotJSON
import DiswotWire
import Foundation

/// `diswot train start|status|list|watch|cancel`: training jobs run by diswotd's training workers.
/// `start` takes `diswot train`'s options (inherited from `train`, read by
/// `TrainCommand.trainingSpec`), plus `--search ID` to train that search's best architecture.
enum TrainDaemonCommands {
  static let subcommands: [CommandSpec] = [
    CommandSpec(
      "start", abstract: "Queue a training job on the daemon (the options of 'diswot train').",
      discussion: """
        The student is --search ID (the daemon takes that finished search's best \
        architecture), or --student / --space with --arch as for 'diswot train'. Distillation \
        needs --teacher-weights, as for 'diswot train' (usually the search's teacher). The job \
        runs on a worker with the train capability in <state dir>/jobs/<id>, checkpointing \
        as it goes; after a crash of the worker or the daemon it resumes from its last \
        checkpoint. Prints the job id; with --wait it follows the job and prints its result.
        """,
      options: [
        .value("search", valueName: "id", help: "Train the best architecture of this finished search."),
        .value("name", valueName: "text", help: "A name for listings."),
        .flag("wait", help: "Follow the job until it ends and print its result."),
      ] + DaemonOptions.options),
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
    let client = try DaemonClient(args)
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

  /// The `train.start` body.
  static func requestBody(_ args: ParsedArguments) throws -> [String: JSONValue] {
    if args.isSet("out") || args.isSet("resume") || args.isSet("max-memory") {
      throw args.usageError("--out, --resume and --max-memory are for local runs; the daemon keeps the run in its state directory, its workers have their own --max-memory")
    }
    let spec = try TrainCommand.trainingSpec(args)
    if args.string("search") != nil {
      if spec.student != TrainingSpec.Student() { throw args.usageError("give --search ID or a student (--student, --space/--arch), not both") }
    } else if spec.student == TrainingSpec.Student() {
      throw args.usageError("give the student: --search ID, --student NAME, or --space FILE --arch JSON")
    }
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
      let epoch = result["epochs"].intValue.map { "\($0)/\($0)" } ?? progress["epoch"].intValue.map { "\($0)/\(epochs)" } ?? "-/\(epochs)"
      let accuracy = result["test_accuracy"].doubleValue ?? progress["test_accuracy"].doubleValue
      let student = job["student"]["name"].stringValue ?? job["search_id"].stringValue.map { "best of \($0)" } ?? job["student"]["space"].stringValue ?? ""
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
    let bar = ProgressBar(total: nil, label: "train \(id)")
    func show(_ p: JSONValue) {
      guard let epoch = p["epoch"].intValue, let steps = p["steps"].intValue else { return }
      bar.update(completed: (epoch - 1) * steps + (p["step"].intValue ?? 0), detail: progressLine(p))
    }
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

  static func progressLine(_ p: JSONValue) -> String {
    var line = String(
      format: "epoch %d/%d step %d/%d loss %.4f acc %.3f %.0f img/s", p["epoch"].intValue ?? 0, p["epochs"].intValue ?? 0,
      p["step"].intValue ?? 0, p["steps"].intValue ?? 0, p["loss"].doubleValue ?? .nan, p["accuracy"].doubleValue ?? .nan,
      p["images_per_second"].doubleValue ?? 0)
    if let test = p["test_accuracy"].doubleValue { line += String(format: " test %.3f", test) }
    return line
  }

  /// One line (or two) about a job.
  static func describe(_ s: JSONValue) -> String {
    var line = "\(s["id"].stringValue ?? "") \(s["state"].stringValue ?? "")"
    if s["progress"] != .null { line += ": " + progressLine(s["progress"]) }
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
