import DiswotCommandLine
import DiswotDaemon
import DiswotModels
import DiswotWire
import Foundation

/// `diswot-worker`: scores candidates and trains students for a diswotd.
let worker = CommandSpec(
  "diswot-worker", abstract: "Score candidates and train students for diswotd.",
  discussion: """
    Connects to the daemon's worker endpoint and keeps connecting: after the daemon goes \
    silent it retries with back-off (1 s doubling to 32 s), so workers may be started \
    before the daemon and survive its restarts. Scoring and training run on a thread of \
    their own while the connection keeps heartbeating. With --curve-server-key (the \
    daemon's public key: a .key file or the 40-character key) and --key (this worker's \
    secret certificate) the connection uses CURVE.
    """,
  options: [
    .value("connect", valueName: "endpoint", default: WireProtocol.defaultWorkerEndpoint, help: "The daemon's worker endpoint."),
    .value("threads", valueName: "n", default: "1", help: "Compute threads."),
    .value("capabilities", valueName: "list", default: "score,train", help: "score (search candidates), train (training jobs and teacher rankings)."),
    .value("name", valueName: "text", help: "Name shown by 'diswot workers' (default: host:pid)."),
    .value("curve-server-key", valueName: "key|file", help: "The daemon's CURVE public key."),
    .value("key", valueName: "file", help: "This worker's secret certificate (NAME.key_secret)."),
    .value("heartbeat-ms", valueName: "ms", default: "\(WireProtocol.heartbeatIntervalMilliseconds)", help: "Heartbeat interval (match the daemon's)."),
    .value("liveness", valueName: "n", default: "\(WireProtocol.heartbeatLiveness)", help: "Silent intervals after which the daemon is presumed dead."),
    .value("jobs-dir", valueName: "dir", help: "Training run directories when the daemon names none."),
    .flag("noop", help: "Answer tasks at once with made-up scores (broker benchmarks)."),
    .flag("exit-with-parent", help: "Exit when the process that started this one exits (used by diswotd)."),
    .value(
      "max-memory", valueName: "size",
      help: "Most memory scoring one candidate may need, e.g. 8G (default: half of this machine's, \(MemoryLimit.machineDefault)); larger ones are refused (too_large)."),
    .quiet, .verbose,
  ])

runMain {
  let args = try worker.parse()
  Log.configure(from: args)
  Log.timestamps = true
  var configuration = WorkerConfiguration()
  configuration.endpoint = args.string("connect", default: WireProtocol.defaultWorkerEndpoint)
  configuration.threads = try args.int("threads", range: 1...4096)!
  configuration.capabilities = args.list("capabilities")
  guard !configuration.capabilities.isEmpty else { throw args.usageError("--capabilities must name score and/or train") }
  configuration.name = args.string("name")
  configuration.serverPublicKey = args.string("curve-server-key")
  configuration.keyFile = args.string("key")
  configuration.heartbeatMilliseconds = try args.int("heartbeat-ms", range: 10...600_000)!
  configuration.liveness = try args.int("liveness", range: 1...100)!
  configuration.jobsDirectory = args.string("jobs-dir")
  configuration.noop = args.flag("noop")
  configuration.exitWithParent = args.flag("exit-with-parent")
  if let text = args.string("max-memory") {
    guard let limit = MemoryLimit(parsing: text) else { throw args.usageError("--max-memory must be a size such as 8G, 512M or 1048576, got '\(text)'") }
    configuration.maxMemory = limit
  }
  ShutdownSignal.install()
  try WorkerAgent(configuration: configuration).run()
}
