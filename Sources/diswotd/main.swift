import DiswotCommandLine
import DiswotDaemon
import DiswotModels
import DiswotWire
import Foundation

/// `diswotd`: the diswot daemon.
let diswotd = CommandSpec(
  "diswotd", abstract: "Serve searches and training jobs to diswot clients, on diswot-worker processes.",
  discussion: """
    Binds three ZeroMQ sockets (clients, workers, events; loopback by default — other \
    interfaces are an explicit choice and should go with --curve), keeps its state in \
    DIR/diswot.sqlite and training runs in DIR/jobs/<id>, and resumes every unfinished \
    search and job after a restart, even after kill -9. Endpoints may use port * (any free \
    port); --ready-file receives the endpoints actually bound, as JSON. SIGINT or SIGTERM \
    shuts it down cleanly. --http HOST:PORT serves the pages of 'diswot report' live, on \
    loopback only (HTTP has no CURVE). See Docs/operations.md.
    """,
  options: [
    .value("client", valueName: "endpoint", default: WireProtocol.defaultClientEndpoint, help: "Client endpoint (ROUTER)."),
    .value("workers", valueName: "endpoint", default: WireProtocol.defaultWorkerEndpoint, help: "Worker endpoint (ROUTER)."),
    .value("events", valueName: "endpoint", default: WireProtocol.defaultEventEndpoint, help: "Event endpoint (PUB)."),
    .value("state-dir", valueName: "dir", help: "State directory: diswot.sqlite and jobs/ (required)."),
    .value("data-root", valueName: "dir", help: "Paths in requests must lie inside it (default: the current directory)."),
    .value("local-workers", valueName: "n", default: "0", help: "Start n diswot-worker processes on this machine (restarted if they die)."),
    .value("worker-threads", valueName: "n", default: "1", help: "Compute threads of each local worker."),
    .value("worker-capabilities", valueName: "list", default: "score,train", help: "Capabilities of the local workers."),
    .value("worker-executable", valueName: "file", help: "The diswot-worker to start (default: the one beside diswotd)."),
    .flag("curve", help: "Encrypt and authenticate every connection with CURVE (needs --server-key and --authorized-keys)."),
    .value("server-key", valueName: "file", help: "The daemon's secret certificate (NAME.key_secret from 'diswot keygen')."),
    .value("authorized-keys", valueName: "dir", help: "Directory of NAME.key public certificates allowed to connect."),
    .value("heartbeat-ms", valueName: "ms", default: "\(WireProtocol.heartbeatIntervalMilliseconds)", help: "Heartbeat interval with workers."),
    .value("liveness", valueName: "n", default: "\(WireProtocol.heartbeatLiveness)", help: "Silent intervals after which a worker is dead."),
    .value("task-size", valueName: "n", default: "4", help: "Most candidates in one task."),
    .value("prefetch", valueName: "n", default: "1", help: "Tasks a worker may hold beyond the one it computes."),
    .value("checkpoint-every", valueName: "steps", default: "20", help: "Training jobs that ask for 0 checkpoint every this many steps."),
    .value(
      "lease-floor-ms", valueName: "ms", default: "\(WireProtocol.taskLeaseFloorMilliseconds)",
      help: "Least time a task may go without a RESULT or PROGRESS before it is taken back (plus its cost)."),
    .value(
      "max-memory", valueName: "size",
      help: "Most memory scoring one network may need, e.g. 8G (default: half of this machine's, \(MemoryLimit.machineDefault)); also the local workers' limit."),
    .value(
      "http", valueName: "host:port",
      help: "Also serve read-only HTML pages of searches, jobs and workers here (loopback only: 127.0.0.1:PORT, [::1]:PORT; port 0: any free one). Off by default."),
    .value("ready-file", valueName: "file", help: "Write the bound endpoints and pid here (JSON) once listening."),
    .flag("noop-workers", help: "Start the local workers with --noop (benchmarks only)."),
    .value("bench-broker", valueName: "tasks", help: "Benchmark: push this many no-op tasks through the workers, print the rate, exit."),
    .quiet, .verbose,
  ])

runMain {
  let args = try diswotd.parse()
  Log.configure(from: args)
  Log.timestamps = true
  guard let stateDirectory = args.string("state-dir") else { throw args.usageError("missing --state-dir DIR") }
  var configuration = DaemonConfiguration(stateDirectory: stateDirectory)
  configuration.clientEndpoint = args.string("client", default: WireProtocol.defaultClientEndpoint)
  configuration.workerEndpoint = args.string("workers", default: WireProtocol.defaultWorkerEndpoint)
  configuration.eventEndpoint = args.string("events", default: WireProtocol.defaultEventEndpoint)
  if let root = args.string("data-root") { configuration.dataRoot = root }
  configuration.localWorkers = try args.int("local-workers", range: 0...256)!
  configuration.localWorkerThreads = try args.int("worker-threads", range: 1...256)!
  configuration.localWorkerCapabilities = args.list("worker-capabilities")
  configuration.workerExecutable = args.string("worker-executable")
  configuration.localWorkersNoop = args.flag("noop-workers")
  if args.flag("curve") {
    guard let key = args.string("server-key") else { throw args.usageError("--curve needs --server-key FILE") }
    guard let keys = args.string("authorized-keys") else { throw args.usageError("--curve needs --authorized-keys DIR") }
    configuration.curveSecretKeyFile = key
    configuration.authorizedKeysDirectory = keys
  } else if args.isSet("server-key") || args.isSet("authorized-keys") {
    throw args.usageError("--server-key and --authorized-keys take effect with --curve")
  }
  configuration.heartbeatMilliseconds = try args.int("heartbeat-ms", range: 10...600_000)!
  configuration.liveness = try args.int("liveness", range: 1...100)!
  configuration.maxCandidatesPerTask = try args.int("task-size", range: 1...10_000)!
  configuration.prefetch = try args.int("prefetch", range: 0...64)!
  configuration.jobCheckpointSteps = try args.int("checkpoint-every", range: 1...10_000_000)!
  configuration.taskLeaseFloorMilliseconds = try args.int("lease-floor-ms", range: 100...86_400_000)!
  configuration.readyFile = args.string("ready-file")
  configuration.httpAddress = args.string("http")
  if let text = args.string("max-memory") {
    guard let limit = MemoryLimit(parsing: text) else { throw args.usageError("--max-memory must be a size such as 8G, 512M or 1048576, got '\(text)'") }
    configuration.maxMemory = limit
  }
  configuration.benchBrokerTasks = try args.int("bench-broker", range: 1...100_000_000)
  ShutdownSignal.install()
  let daemon = try Daemon(configuration: configuration)
  try daemon.run()
}
