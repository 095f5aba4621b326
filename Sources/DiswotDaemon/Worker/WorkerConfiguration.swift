import DiswotModels
import DiswotWire
import Foundation

/// Everything `diswot-worker` is started with.
public struct WorkerConfiguration: Sendable {
  /// The daemon's worker endpoint.
  public var endpoint = WireProtocol.defaultWorkerEndpoint
  /// Compute threads (the engine's `Parallel` threads).
  public var threads = 1
  /// `score` (TASKs) and/or `train` (TRAIN jobs).
  public var capabilities = ["score", "train"]
  /// A name for `diswot workers` (default: host name and pid).
  public var name: String?
  /// The daemon's CURVE public key (Z85), and this worker's secret certificate file.
  public var serverPublicKey: String?
  public var keyFile: String?
  public var heartbeatMilliseconds = WireProtocol.heartbeatIntervalMilliseconds
  public var liveness = WireProtocol.heartbeatLiveness
  /// Answer TASKs at once with made-up scores (broker benchmarks).
  public var noop = false
  /// Exit when the process that started this one dies (local workers of diswotd).
  public var exitWithParent = false
  /// Where training runs go when the daemon names no directory.
  public var jobsDirectory: String?
  /// How long to wait for another process to release a training run directory.
  public var lockWaitMilliseconds = 60_000
  /// The most a candidate may need to be scored here: one over it is answered with a
  /// `too_large` error (another worker may have more memory), never built.
  public var maxMemory = MemoryLimit.machineDefault

  public init() {}
}
