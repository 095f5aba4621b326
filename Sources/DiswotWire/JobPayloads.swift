import DiswotJSON
import Foundation

// TRAIN, TEACHERS, PROGRESS and DONE: training and teacher-ranking jobs.

/// TRAIN: `{"job_id": "…", "spec": {TrainingSpec}, "directory": "…"?}`: the trainer's
/// settings (`TrainingSpec` as JSON) and the run directory on the worker's machine, where
/// the worker resumes from the last checkpoint if there is one.
public struct TrainJob: WorkerPayload, Equatable {
  public static let command = WorkerCommand.train
  public var jobID: String
  public var spec: [String: JSONValue]
  /// The run directory (`<state dir>/jobs/<job id>` on the daemon's machine); nil lets the
  /// worker choose (its `--jobs-dir`).
  public var directory: String?

  public init(jobID: String, spec: [String: JSONValue], directory: String? = nil) {
    self.jobID = jobID
    self.spec = spec
    self.directory = directory
  }

  public init(body: [String: JSONValue]) throws(ProtocolError) {
    let f = Fields(body, "TRAIN")
    jobID = try f.identifier("job_id")
    spec = try f.object("spec")
    directory = try f.optionalString("directory", maxBytes: 4096)
  }

  public var body: [String: JSONValue] {
    var body: [String: JSONValue] = ["job_id": .string(jobID), "spec": .object(spec)]
    if let directory { body["directory"] = .string(directory) }
    return body
  }
}

/// TEACHERS: `{"job_id": "…", "spec": {TeacherRankingSpec}}`: rank the candidate teachers
/// (`diswot teachers`' request as JSON, paths resolved by the daemon); the worker answers
/// with PROGRESS and a DONE whose result is the ranking report.
public struct TeachersJob: WorkerPayload, Equatable {
  public static let command = WorkerCommand.teachers
  public var jobID: String
  public var spec: [String: JSONValue]

  public init(jobID: String, spec: [String: JSONValue]) {
    self.jobID = jobID
    self.spec = spec
  }

  public init(body: [String: JSONValue]) throws(ProtocolError) {
    let f = Fields(body, "TEACHERS")
    jobID = try f.identifier("job_id")
    spec = try f.object("spec")
  }

  public var body: [String: JSONValue] { ["job_id": .string(jobID), "spec": .object(spec)] }
}

/// PROGRESS: `{"job_id": "…", "progress": {"epoch": 3, "epochs": 200, "loss": 1.2, …}}`.
public struct JobProgress: WorkerPayload, Equatable {
  public static let command = WorkerCommand.progress
  public var jobID: String
  public var progress: [String: JSONValue]

  public init(jobID: String, progress: [String: JSONValue]) {
    self.jobID = jobID
    self.progress = progress
  }

  public init(body: [String: JSONValue]) throws(ProtocolError) {
    let f = Fields(body, "PROGRESS")
    jobID = try f.identifier("job_id")
    progress = try f.object("progress")
  }

  public var body: [String: JSONValue] { ["job_id": .string(jobID), "progress": .object(progress)] }
}

/// DONE: `{"job_id": "…", "result": {…}}` or `{"job_id": "…", "error": {"code": "…", "message": "…"}}`.
public struct JobDone: WorkerPayload, Equatable {
  public static let command = WorkerCommand.done
  public var jobID: String
  public var outcome: Result<[String: JSONValue], WireError>

  public init(jobID: String, outcome: Result<[String: JSONValue], WireError>) {
    self.jobID = jobID
    self.outcome = outcome
  }

  public init(body: [String: JSONValue]) throws(ProtocolError) {
    let f = Fields(body, "DONE")
    jobID = try f.identifier("job_id")
    if let error = try f.optionalObject("error") {
      let e = Fields(error, "DONE error")
      let codeText = try e.string("code", maxBytes: 64)
      outcome = .failure(WireError(ErrorCode(rawValue: codeText) ?? .internal, try e.string("message", maxBytes: 4096, allowEmpty: true)))
    } else {
      outcome = .success(try f.object("result"))
    }
  }

  public var body: [String: JSONValue] {
    switch outcome {
    case .success(let result): ["job_id": .string(jobID), "result": .object(result)]
    case .failure(let error): ["job_id": .string(jobID), "error": error.json]
    }
  }
}
