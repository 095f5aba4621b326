// What peers ask each other, and the error codes replies carry.

/// What a client asks the daemon (frame 2 of a client request).
public enum ClientCommand: String, Sendable, CaseIterable, Codable {
  case searchStart = "search.start"
  case searchStatus = "search.status"
  case searchList = "search.list"
  case searchBest = "search.best"
  case searchCancel = "search.cancel"
  case searchPause = "search.pause"
  case searchResume = "search.resume"
  case trainStart = "train.start"
  case trainStatus = "train.status"
  case trainList = "train.list"
  /// A job's per-epoch metrics (its run directory's `metrics.jsonl`), for reports.
  case trainMetrics = "train.metrics"
  case trainCancel = "train.cancel"
  /// A teacher ranking (`diswot teachers`) as a job run by a worker.
  case teachersStart = "teachers.start"
  case teachersStatus = "teachers.status"
  case workers
  case health
  case version
}

/// Worker ↔ daemon commands (frame 2 of a worker message).
public enum WorkerCommand: String, Sendable, CaseIterable, Codable {
  /// worker → daemon, first message on a connection: capabilities, threads, version.
  case ready = "READY"
  /// both ways, whenever nothing else was sent for a heartbeat interval.
  case heartbeat = "HEARTBEAT"
  /// daemon → worker: candidates to score.
  case task = "TASK"
  /// worker → daemon: the scores of a TASK's candidates.
  case result = "RESULT"
  /// daemon → worker: a training job.
  case train = "TRAIN"
  /// daemon → worker: a teacher-ranking job (to workers announcing `teachers`).
  case teachers = "TEACHERS"
  /// worker → daemon: progress of a training or teacher-ranking job.
  case progress = "PROGRESS"
  /// worker → daemon: a training or teacher-ranking job ended.
  case done = "DONE"
  /// daemon → worker: stop a TASK or TRAIN job (the search or job was cancelled or paused).
  case cancel = "CANCEL"
  /// both ways: the sender is going away (or, from the daemon, the worker must reconnect).
  case disconnect = "DISCONNECT"
}

/// Why a request failed: the `code` of an error reply.
public enum ErrorCode: String, Sendable, CaseIterable, Codable {
  /// The frames are not a request: wrong count, bad request id, unknown tag, non-object body.
  case badRequest = "bad_request"
  /// The command frame names no command of this version.
  case unknownCommand = "unknown_command"
  /// The body is not UTF-8 JSON (or nests deeper than `maxJSONDepth`).
  case invalidJSON = "invalid_json"
  /// The body exceeds `maxBodyBytes`.
  case tooLarge = "too_large"
  /// The search, job or other object named does not exist.
  case notFound = "not_found"
  /// A body field is missing, of the wrong type or out of range.
  case invalidArgument = "invalid_argument"
  /// The daemon cannot do it now (shutting down, no workers, queue full); retry later.
  case unavailable
  /// A bug or unexpected failure in the daemon.
  case `internal`
  /// The request's tag names another protocol version.
  case versionMismatch = "version_mismatch"
}
