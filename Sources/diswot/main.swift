import DiswotCommandLine

/// `train` runs locally without a subcommand (TrainCommand) and through the daemon with one.
let trainCommand: CommandSpec = {
  var spec = TrainCommand.spec
  spec.subcommands = TrainDaemonCommands.subcommands
  spec.isRunnable = true
  return spec
}()

/// `teachers` too: locally without a subcommand, through the daemon with one.
let teachersCommand: CommandSpec = {
  var spec = TeachersCommand.spec
  spec.subcommands = TeachersDaemonCommands.subcommands
  spec.isRunnable = true
  return spec
}()

/// The `diswot` command: every user-facing operation as a subcommand. It runs by itself
/// only for `--version` (this client's, no daemon needed; `diswot version` asks the daemon).
let diswot = CommandSpec(
  "diswot", abstract: "Find the best student for a teacher before training, then distil it.",
  options: [.quiet, .verbose, .flag("version", help: "Print this client's version and exit (no daemon needed).")],
  subcommands: [
    EvalCommand.spec, teachersCommand, ScoreCommand.spec, RankCommand.spec, QualityCommand.spec, SearchCommand.spec, trainCommand,
    ExportCommand.spec, ReportCommand.spec,
    ServiceCommands.workers, ServiceCommands.health, ServiceCommands.version, ServiceCommands.keygen,
  ], runnable: true)

// With --json, a failure is a JSON document on standard output too (see `runMain`).
runMain(jsonErrors: JSONOutput.isRequested(by: CommandLine.arguments.dropFirst())) {
  let args = try diswot.parse()
  Log.configure(from: args)
  switch args.subcommandPath {
  case []:
    guard args.flag("version") else {
      throw args.usageError("'diswot' needs a subcommand: \(diswot.subcommands.map(\.name).joined(separator: ", "))")
    }
    print(ServiceCommands.clientVersionLine)
  case ["eval"]: try EvalCommand.run(args)
  case ["teachers"]: try TeachersCommand.run(args)
  case let path where path.first == "teachers": try TeachersDaemonCommands.run(args)
  case ["score"]: try ScoreCommand.run(args)
  case ["rank"]: try RankCommand.run(args)
  case ["quality"]: try QualityCommand.run(args)
  case ["search"]: try SearchCommand.run(args)
  case let path where path.first == "search": try SearchDaemonCommands.run(args)
  case ["train"]: try TrainCommand.run(args)
  case let path where path.first == "train": try TrainDaemonCommands.run(args)
  case ["export"]: try ExportCommand.run(args)
  case ["report"]: try ReportCommand.run(args)
  case ["workers"]: try ServiceCommands.runWorkers(args)
  case ["health"]: try ServiceCommands.runHealth(args)
  case ["version"]: try ServiceCommands.runVersion(args)
  case ["keygen"]: try ServiceCommands.runKeygen(args)
  default: throw args.usageError("unknown command")
  }
}
