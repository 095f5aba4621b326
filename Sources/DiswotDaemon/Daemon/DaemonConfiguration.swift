import DiswotModels
import DiswotWire
import Foundation

/// Everything `diswotd` is started with (its command-line options, as data).
public struct DaemonConfiguration: Sendable {
  /// Where clients connect (ROUTER). `tcp://127.0.0.1:*` picks a free port.
  public var clientEndpoint = WireProtocol.defaultClientEndpoint
  /// Where workers connect (ROUTER).
  public var workerEndpoint = WireProtocol.defaultWorkerEndpoint
  /// Where events are published (PUB).
  public var eventEndpoint = WireProtocol.defaultEventEndpoint
  /// `diswot.sqlite` and `jobs/<id>/` (training run directories) live here.
  public var stateDirectory: String
  /// Request paths (datasets, weights, search-space files) must resolve inside it.
  public var dataRoot: String = FileManager.default.currentDirectoryPath
  /// `diswot-worker` children to start, restart when they die and stop on shutdown.
  public var localWorkers = 0
  /// Compute threads of each local worker.
  public var localWorkerThreads = 1
  /// Capabilities of the local workers (`score`, `train`).
  public var localWorkerCapabilities = ["score", "train"]
  /// Pass `--noop` to local workers (answer TASKs at once; broker benchmarks only).
  public var localWorkersNoop = false
  /// The `diswot-worker` executable; nil: the one beside this executable.
  public var workerExecutable: String?
  /// CURVE on all three sockets: the daemon's secret certificate and the directory of
  /// `*.key` public certificates allowed to connect.
  public var curveSecretKeyFile: String?
  public var authorizedKeysDirectory: String?
  /// Paranoid Pirate heartbeat interval and liveness (see `WireProtocol`).
  public var heartbeatMilliseconds = WireProtocol.heartbeatIntervalMilliseconds
  public var liveness = WireProtocol.heartbeatLiveness
  /// `diswotd --http HOST:PORT`: serve read-only HTML pages of searches, jobs and workers
  /// there (loopback only, see `HTTPAddress`); nil: no HTTP at all (the default).
  public var httpAddress: String?
  /// Written (atomically, JSON) once the sockets are bound: the actual endpoints and pid.
  public var readyFile: String?
  /// Largest number of candidates in one TASK.
  public var maxCandidatesPerTask = 4
  /// TASKs a worker may hold beyond the one it computes (hides the round trip).
  public var prefetch = 1
  /// Training jobs whose spec says 0 checkpoint every this many steps as well as at
  /// epoch ends, so a killed worker loses little (resumption is exact either way).
  public var jobCheckpointSteps = 20
  /// Failed attempts (a worker reported an error for it, or its lease expired on that many
  /// different workers) before a candidate fails its search.
  public var candidateAttempts = 3
  /// The least lease a TASK gets, in milliseconds (`WireProtocol.taskLeaseFloorMilliseconds`;
  /// tests shorten it).
  public var taskLeaseFloorMilliseconds = WireProtocol.taskLeaseFloorMilliseconds
  /// The most a network may need to be scored (`MemoryBudget`): a `search.start` whose
  /// teacher, ensemble reference sample or cheapest architecture is over it is refused;
  /// architectures over it are never proposed. Local workers get the same limit.
  public var maxMemory = MemoryLimit.machineDefault
  /// Times a training job is restarted after losing its worker before it fails.
  public var jobAttempts = 10
  /// Benchmark mode: instead of serving searches, send this many one-candidate no-op
  /// TASKs through the broker and report the round-trip rate (see Docs/benchmarks.md).
  public var benchBrokerTasks: Int?

  public init(stateDirectory: String) {
    self.stateDirectory = stateDirectory
  }

  var curve: Bool { curveSecretKeyFile != nil }
}
