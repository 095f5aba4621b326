import DiswotCommandLine

/// The `diswot` command: every user-facing operation as a subcommand.
let diswot = CommandSpec(
  "diswot", abstract: "Find the best student for a teacher before training, then distil it.",
  options: [.quiet, .verbose],
  subcommands: [EvalCommand.spec, ScoreCommand.spec, RankCommand.spec, SearchCommand.spec, TrainCommand.spec])

runMain {
  let args = try diswot.parse()
  Log.configure(from: args)
  switch args.subcommandPath {
  case ["eval"]: try EvalCommand.run(args)
  case ["score"]: try ScoreCommand.run(args)
  case ["rank"]: try RankCommand.run(args)
  case ["search"]: try SearchCommand.run(args)
  case ["train"]: try TrainCommand.run(args)
  default: throw args.usageError("unknown command")
  }
}
