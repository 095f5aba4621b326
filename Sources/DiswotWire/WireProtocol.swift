import DiswotJSON
import Foundation

// The diswot wire protocol, version 1 ("DISWOT1"). Its constants are here, every one with
// its unit; the rest lives beside this file by responsibility: Commands.swift (commands,
// error codes), Errors.swift, ClientMessages.swift, WorkerMessage.swift, Events.swift,
// Envelope.swift, WireMessage.swift (framing, strict decoders and encoders), the worker
// message bodies (SessionPayloads, TaskPayloads, JobPayloads) and Fields.swift (field
// checks). Docs/protocol.md is the prose form; the two change together.
//
// Sockets (defaults; the daemon binds, everyone else connects):
//   clients  DEALER or REQ → ROUTER tcp://127.0.0.1:5555  [tag, command, request id, body]
//   workers  DEALER        → ROUTER tcp://127.0.0.1:5556  [tag, command, body]
//   events   SUB           ← PUB    tcp://127.0.0.1:5557  [topic, tag, body]
// Every body is one JSON object in UTF-8.

// MARK: - Constants

/// The protocol's constants. Durations are in milliseconds, sizes in bytes.
public enum WireProtocol {
  /// Protocol tag, the first content frame of every client and worker message and the
  /// second frame of every event. The version is part of the tag: a change that old peers
  /// cannot ignore gets a new tag (`DISWOT2`).
  public static let tag = "DISWOT1"
  /// What every version's tag starts with; a tag with this prefix but another version is
  /// answered with `version_mismatch`, anything else with `bad_request`.
  public static let tagPrefix = "DISWOT"
  /// `tag` as a frame.
  public static let tagFrame: [UInt8] = Array(tag.utf8)

  /// Worker and daemon each send a HEARTBEAT when they have sent nothing else for this long
  /// (the Paranoid Pirate pattern's HEARTBEAT_INTERVAL), in milliseconds.
  public static let heartbeatIntervalMilliseconds = 1_000
  /// Heartbeat intervals without any message after which a peer is dead (HEARTBEAT_LIVENESS):
  /// the daemon then re-queues the worker's tasks; the worker reconnects.
  public static let heartbeatLiveness = 3
  /// A worker's first reconnection delay after losing the daemon, in milliseconds; doubled on
  /// each failure (INTERVAL_INIT).
  public static let reconnectIntervalInitialMilliseconds = 1_000
  /// The largest reconnection delay, in milliseconds (INTERVAL_MAX).
  public static let reconnectIntervalMaxMilliseconds = 32_000

  /// How long a Lazy Pirate client waits for each attempt's reply, in milliseconds
  /// (REQUEST_TIMEOUT).
  public static let requestTimeoutMilliseconds = 2_500
  /// Attempts a Lazy Pirate client makes, the first included, before reporting the daemon
  /// unavailable (the zguide's REQUEST_RETRIES).
  public static let requestAttempts = 3

  /// The least time a TASK is given before the daemon takes it back (its lease), in
  /// milliseconds. It covers what comes before a worker's first PROGRESS: setting up a
  /// scoring session (the teacher, the probe batch) and the first candidate.
  public static let taskLeaseFloorMilliseconds = 60_000
  /// What a lease adds to the floor per 10⁹ multiply-accumulates a TASK asks for, in
  /// milliseconds (each candidate: its MACs for one image × probe batch × repeats × probes ×
  /// proxies measured). 10 000 ms is 10⁸ MAC/s, tens of times slower than one core scores,
  /// so only a worker that is stuck, or that dropped the TASK, outlives its lease. Each
  /// PROGRESS of the TASK renews the lease for its whole length.
  public static let taskLeaseMillisecondsPerGigaMAC = 10_000
  /// RESULTs refused (a value out of its range) plus leases that expired, per connection,
  /// after which the daemon quarantines a worker: it keeps the connection but gets no
  /// more work.
  public static let quarantineStrikes = 3
  /// Largest number of candidates in one TASK.
  public static let maxCandidatesPerTask = 10_000

  /// Largest body frame, in bytes (1 MiB); a larger body is answered with `too_large`.
  public static let maxBodyBytes = 1 << 20
  /// Largest frame the daemon's ROUTER sockets accept at all (ZMQ_MAXMSGSIZE), in bytes
  /// (2 MiB); a peer sending a larger frame is disconnected by ZeroMQ without an answer.
  public static let maxFrameBytes = 2 << 20
  /// Largest request id, in bytes (printable ASCII, no spaces).
  public static let maxRequestIDBytes = 64
  /// Largest command frame and event topic, in bytes.
  public static let maxCommandBytes = 64
  public static let maxTopicBytes = 256
  /// Deepest nesting of arrays and objects a body may have.
  public static let maxJSONDepth = 64

  /// Default endpoints (loopback: reaching the daemon from another host needs an explicit
  /// address and, sensibly, CURVE).
  public static let defaultClientEndpoint = "tcp://127.0.0.1:5555"
  public static let defaultWorkerEndpoint = "tcp://127.0.0.1:5556"
  public static let defaultEventEndpoint = "tcp://127.0.0.1:5557"
  /// The ZAP domain the daemon's CURVE server sockets use.
  public static let zapDomain = "diswot"

  /// The software version peers report (`version` command, READY).
  public static let softwareVersion = "0.6.0"

  /// A fresh request id (a lowercase UUID).
  public static func newRequestID() -> String { UUID().uuidString.lowercased() }

  /// Whether `bytes` is a valid request id: 1–64 bytes of printable ASCII without spaces.
  public static func isValidRequestID(_ bytes: some Collection<UInt8>) -> Bool {
    (1...maxRequestIDBytes).contains(bytes.count) && bytes.allSatisfy { (0x21...0x7E).contains($0) }
  }
}
