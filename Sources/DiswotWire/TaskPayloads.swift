import DiswotJSON
import Foundation

// TASK, PROGRESS (of a task) and RESULT: scoring candidates.

/// One architecture to score: its canonical key and genotype JSON.
public struct TaskCandidate: Sendable, Equatable {
  public var key: String
  /// The genotype's JSON form (`SearchSpace.json(of:)`), an object.
  public var genotype: JSONValue

  public init(key: String, genotype: JSONValue) {
    self.key = key
    self.genotype = genotype
  }
}

/// TASK: `{"task_id": "…", "search_id": "…", "scoring": {ScoringSpec}, "candidates": [{"key": "…", "genotype": {…}}]}`.
public struct WorkerTask: WorkerPayload, Equatable {
  public static let command = WorkerCommand.task
  public var taskID: String
  public var searchID: String
  /// The search's `ScoringSpec` as JSON (see Docs/protocol.md); workers cache the session
  /// it builds by its compact text.
  public var scoring: [String: JSONValue]
  public var candidates: [TaskCandidate]

  public init(taskID: String, searchID: String, scoring: [String: JSONValue], candidates: [TaskCandidate]) {
    self.taskID = taskID
    self.searchID = searchID
    self.scoring = scoring
    self.candidates = candidates
  }

  public init(body: [String: JSONValue]) throws(ProtocolError) {
    let f = Fields(body, "TASK")
    taskID = try f.identifier("task_id")
    searchID = try f.identifier("search_id")
    scoring = try f.object("scoring")
    var candidates: [TaskCandidate] = []
    let items = try f.array("candidates", count: 1...WireProtocol.maxCandidatesPerTask)
    for (i, item) in items.enumerated() {
      let c = try Fields.element(item, "TASK", "candidates[\(i)]")
      candidates.append(TaskCandidate(key: try c.string("key", maxBytes: 1024), genotype: .object(try c.object("genotype"))))
    }
    self.candidates = candidates
  }

  public var body: [String: JSONValue] {
    [
      "task_id": .string(taskID), "search_id": .string(searchID), "scoring": .object(scoring),
      "candidates": .array(candidates.map { ["key": .string($0.key), "genotype": $0.genotype] }),
    ]
  }
}

/// One candidate's outcome in a RESULT: scores, or an error.
public struct CandidateResult: Sendable, Equatable {
  public var key: String
  /// Proxy name → score (`diswot`, `nwot`, …); a null on the wire (a non-finite score) is NaN.
  public var scores: [String: Double]
  public var params: Int?
  public var macs: Int?
  /// Wall-clock seconds the worker spent on this candidate.
  public var seconds: Double
  /// Why the candidate could not be scored (then `scores` is empty).
  public var error: WireError?

  public init(key: String, scores: [String: Double], params: Int? = nil, macs: Int? = nil, seconds: Double, error: WireError? = nil) {
    self.key = key
    self.scores = scores
    self.params = params
    self.macs = macs
    self.seconds = seconds
    self.error = error
  }

  /// NaN-aware equality (a NaN score equals a NaN score), so decoded results compare.
  public static func == (a: CandidateResult, b: CandidateResult) -> Bool {
    a.key == b.key && a.params == b.params && a.macs == b.macs && a.error == b.error
      && (a.seconds == b.seconds || (a.seconds.isNaN && b.seconds.isNaN))
      && a.scores.count == b.scores.count
      && a.scores.allSatisfy { name, x in b.scores[name].map { $0 == x || ($0.isNaN && x.isNaN) } ?? false }
  }
}

/// RESULT: `{"task_id": "…", "results": [{"key": "…", "scores": {"diswot": -1.2}, "params": 1, "macs": 2, "seconds": 0.5}
/// | {"key": "…", "error": {"code": "…", "message": "…"}, "seconds": 0.1}], "error": {…}?}`.
/// A task-level `error` says the whole TASK could not be read or set up (then `results` is
/// usually empty): every candidate of it counts as not scored, with that error.
public struct TaskResult: WorkerPayload, Equatable {
  public static let command = WorkerCommand.result
  public var taskID: String
  public var results: [CandidateResult]
  /// Why none of the task's candidates could be scored (a TASK the worker cannot read).
  public var error: WireError?

  public init(taskID: String, results: [CandidateResult], error: WireError? = nil) {
    self.taskID = taskID
    self.results = results
    self.error = error
  }

  public init(body: [String: JSONValue]) throws(ProtocolError) {
    let f = Fields(body, "RESULT")
    taskID = try f.identifier("task_id")
    if let error = try f.optionalObject("error") {
      let e = Fields(error, "RESULT error")
      self.error = WireError(ErrorCode(rawValue: try e.string("code", maxBytes: 64)) ?? .internal, try e.string("message", maxBytes: 4096, allowEmpty: true))
    }
    var results: [CandidateResult] = []
    for (i, item) in try f.array("results", count: 0...WireProtocol.maxCandidatesPerTask).enumerated() {
      let r = try Fields.element(item, "RESULT", "results[\(i)]")
      var result = CandidateResult(key: try r.string("key", maxBytes: 1024), scores: [:], seconds: try r.double("seconds"))
      result.params = try r.optionalInt("params")
      result.macs = try r.optionalInt("macs")
      if let error = try r.optionalObject("error") {
        let e = Fields(error, "RESULT results[\(i)].error")
        let codeText = try e.string("code", maxBytes: 64)
        result.error = WireError(ErrorCode(rawValue: codeText) ?? .internal, try e.string("message", maxBytes: 4096, allowEmpty: true))
      } else {
        for (name, value) in try r.object("scores") {
          switch value {
          case .null: result.scores[name] = .nan
          default:
            guard let x = value.doubleValue else { throw r.fail("scores.\(name)", "must be a number or null, not \(value.typeName)") }
            result.scores[name] = x
          }
        }
      }
      results.append(result)
    }
    self.results = results
  }

  public var body: [String: JSONValue] {
    var body: [String: JSONValue] = [
      "task_id": .string(taskID),
      "results": .array(results.map { r in
        var item: [String: JSONValue] = ["key": .string(r.key), "seconds": .double(r.seconds)]
        if let error = r.error {
          item["error"] = error.json
        } else {
          item["scores"] = .object(r.scores.mapValues { .double($0) })
        }
        if let params = r.params { item["params"] = .int(params) }
        if let macs = r.macs { item["macs"] = .int(macs) }
        return .object(item)
      }),
    ]
    if let error { body["error"] = error.json }
    return body
  }
}

/// PROGRESS of a TASK: `{"task_id": "…", "stage": "calibration"|"scoring", "done": 3, "total": 4}`.
/// A worker sends one after each calibration step and each candidate but the last (whose
/// RESULT follows); each renews the task's lease, so a long task is taken back only when
/// its worker stops making progress. `stage`, `done` and `total` are informational. The
/// same command carries a training job's progress (`JobProgress`); `task_id` tells them apart.
public struct TaskProgress: WorkerPayload, Equatable {
  public static let command = WorkerCommand.progress
  public var taskID: String
  /// `calibration` (the ensemble's reference sample, before the first candidate) or `scoring`.
  public var stage: String
  public var done: Int
  public var total: Int

  public init(taskID: String, stage: String, done: Int, total: Int) {
    self.taskID = taskID
    self.stage = stage
    self.done = done
    self.total = total
  }

  public init(body: [String: JSONValue]) throws(ProtocolError) {
    let f = Fields(body, "PROGRESS")
    taskID = try f.identifier("task_id")
    stage = try f.optionalString("stage", maxBytes: 64) ?? "scoring"
    done = try f.optionalInt("done") ?? 0
    total = try f.optionalInt("total") ?? 0
  }

  public var body: [String: JSONValue] {
    ["task_id": .string(taskID), "stage": .string(stage), "done": .int(done), "total": .int(total)]
  }
}
