import DiswotJSON
import Foundation

// READY, HEARTBEAT, CANCEL and DISCONNECT: the bodies that open, keep and end a worker's
// connection and steer its work.

/// READY: `{"version": "…", "capabilities": ["score", "train"], "threads": 2, "name": "…"}`.
public struct WorkerReady: WorkerPayload, Equatable {
  public static let command = WorkerCommand.ready
  /// The worker's software version (informational; the tag carries the protocol version).
  public var version: String
  /// What the worker can do: `score` (TASK), `train` (TRAIN); unknown entries are kept.
  public var capabilities: [String]
  /// Threads the worker computes with (the daemon sizes TASKs by it).
  public var threads: Int
  /// A human-readable name (host name, …), for `workers` listings.
  public var name: String?

  public init(version: String, capabilities: [String], threads: Int, name: String? = nil) {
    self.version = version
    self.capabilities = capabilities
    self.threads = threads
    self.name = name
  }

  public init(body: [String: JSONValue]) throws(ProtocolError) {
    let f = Fields(body, "READY")
    version = try f.string("version", maxBytes: 128)
    capabilities = try f.stringArray("capabilities", maxCount: 32)
    threads = try f.int("threads", in: 1...4096)
    name = try f.optionalString("name", maxBytes: 256)
  }

  public var body: [String: JSONValue] {
    var body: [String: JSONValue] = [
      "version": .string(version), "capabilities": .array(capabilities.map(JSONValue.string)), "threads": .int(threads),
    ]
    if let name { body["name"] = .string(name) }
    return body
  }
}

/// HEARTBEAT: `{}`.
public struct WorkerHeartbeat: WorkerPayload, Equatable {
  public static let command = WorkerCommand.heartbeat
  public init() {}
  public init(body: [String: JSONValue]) throws(ProtocolError) {}
  public var body: [String: JSONValue] { [:] }
}

/// CANCEL: `{"task_id": "…"}` or `{"job_id": "…"}`: stop that work. A cancelled TASK needs
/// no RESULT (the daemon ignores one that arrives); a cancelled TRAIN job checkpoints and
/// ends with a DONE carrying an error.
public struct WorkerCancel: WorkerPayload, Equatable {
  public static let command = WorkerCommand.cancel
  public var taskID: String?
  public var jobID: String?

  public init(taskID: String? = nil, jobID: String? = nil) {
    self.taskID = taskID
    self.jobID = jobID
  }

  public init(body: [String: JSONValue]) throws(ProtocolError) {
    let f = Fields(body, "CANCEL")
    taskID = try f.optionalString("task_id", maxBytes: 128)
    jobID = try f.optionalString("job_id", maxBytes: 128)
    guard (taskID == nil) != (jobID == nil) else {
      throw ProtocolError(.invalidArgument, "CANCEL: give exactly one of 'task_id' and 'job_id'")
    }
  }

  public var body: [String: JSONValue] {
    if let taskID { return ["task_id": .string(taskID)] }
    return ["job_id": .string(jobID ?? "")]
  }
}

/// DISCONNECT: `{"reason": "…"}` (reason optional).
public struct WorkerDisconnect: WorkerPayload, Equatable {
  public static let command = WorkerCommand.disconnect
  public var reason: String?

  public init(reason: String? = nil) { self.reason = reason }

  public init(body: [String: JSONValue]) throws(ProtocolError) {
    reason = try Fields(body, "DISCONNECT").optionalString("reason", maxBytes: 4096)
  }

  public var body: [String: JSONValue] { reason.map { ["reason": .string($0)] } ?? [:] }
}
