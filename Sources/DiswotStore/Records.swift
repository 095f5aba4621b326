import DiswotJSON
import Foundation

// Rows of the store as values. JSON columns are kept as the JSON text the daemon wrote
// (the store does not know the ML types; the daemon encodes and decodes them), and every
// timestamp is seconds since 1970 in the database, a `Date` here.

/// Where a search is in its life. `running` and `paused` are unfinished: after a restart
/// the daemon restores them from their engine checkpoint.
public enum SearchState: String, Sendable, Codable, CaseIterable {
  case running, paused, cancelled, finished, failed

  /// True for `cancelled`, `finished` and `failed`.
  public var isTerminal: Bool { self == .cancelled || self == .finished || self == .failed }
}

/// Where a training job is in its life. `queued` and `running` are unfinished.
public enum JobState: String, Sendable, Codable, CaseIterable {
  case queued, running, cancelled, finished, failed

  /// True for `cancelled`, `finished` and `failed`.
  public var isTerminal: Bool { self == .cancelled || self == .finished || self == .failed }
}

/// A row of `searches`.
public struct SearchRecord: Sendable, Equatable {
  public var id: String
  public var createdAt: Date
  /// The search's specification (space, teacher, strategy, budget, …) as JSON text.
  public var specJSON: String
  public var state: SearchState
  /// The latest engine checkpoint (JSON text), nil before the first one.
  public var engineJSON: String?
  /// Why it failed, for `failed`.
  public var error: String?
  public var updatedAt: Date

  public init(
    id: String, createdAt: Date, specJSON: String, state: SearchState, engineJSON: String?, error: String?,
    updatedAt: Date
  ) {
    self.id = id
    self.createdAt = createdAt
    self.specJSON = specJSON
    self.state = state
    self.engineJSON = engineJSON
    self.error = error
    self.updatedAt = updatedAt
  }
}

/// A row of `evaluations`: one scored architecture of one search.
public struct EvaluationRecord: Sendable, Equatable {
  public var searchID: String
  /// The architecture's canonical key (unique within a search).
  public var key: String
  /// The architecture (its JSON genotype) as JSON text.
  public var archJSON: String
  /// Every proxy's score, `{"diswot": -1.2, "naswot": 3.4}`, as JSON text.
  public var scoresJSON: String
  public var params: Int
  public var macs: Int
  /// The objective the engine ranks by (higher is better); must be finite.
  public var score: Double
  /// The worker that computed it, when known.
  public var worker: String?
  /// Seconds the evaluation took on the worker.
  public var seconds: Double
  public var createdAt: Date

  public init(
    searchID: String, key: String, archJSON: String, scoresJSON: String, params: Int, macs: Int, score: Double,
    worker: String? = nil, seconds: Double, createdAt: Date = Date()
  ) {
    self.searchID = searchID
    self.key = key
    self.archJSON = archJSON
    self.scoresJSON = scoresJSON
    self.params = params
    self.macs = macs
    self.score = score
    self.worker = worker
    self.seconds = seconds
    self.createdAt = createdAt
  }

  /// From the values a scoring `Evaluation` carries; the JSON text is compact with sorted
  /// keys, so equal architectures are equal text.
  public init(
    searchID: String, key: String, arch: JSONValue, scores: [String: Double], params: Int, macs: Int,
    score: Double, worker: String? = nil, seconds: Double, createdAt: Date = Date()
  ) {
    self.init(
      searchID: searchID, key: key, archJSON: arch.compactText,
      scoresJSON: JSONValue.object(scores.mapValues { .double($0) }).compactText, params: params, macs: macs,
      score: score, worker: worker, seconds: seconds, createdAt: createdAt)
  }
}

/// A row of `unscorable`: a candidate of a search that could not be scored, and why.
public struct UnscorableRecord: Sendable, Equatable {
  public var searchID: String
  /// The architecture's canonical key (unique within a search, never also in `evaluations`).
  public var key: String
  /// The architecture (its JSON genotype) as JSON text.
  public var archJSON: String
  /// Why, for people ("its diswot score is not finite (NaN)").
  public var reason: String
  /// The worker that reported it, when known.
  public var worker: String?
  public var createdAt: Date

  public init(searchID: String, key: String, archJSON: String, reason: String, worker: String? = nil, createdAt: Date = Date()) {
    self.searchID = searchID
    self.key = key
    self.archJSON = archJSON
    self.reason = reason
    self.worker = worker
    self.createdAt = createdAt
  }
}

/// A row of `jobs`: a training job (e.g. distilling a search's best student).
public struct JobRecord: Sendable, Equatable {
  public var id: String
  /// What kind of job (`distill`, …); the daemon gives it meaning.
  public var kind: String
  /// The search it came from, if any.
  public var searchID: String?
  /// The job's specification as JSON text.
  public var specJSON: String
  public var state: JobState
  /// Where the job keeps its training checkpoints (it resumes from there after a restart).
  public var checkpointDir: String?
  /// The latest progress report (epoch, loss, accuracy, …) as JSON text.
  public var progressJSON: String?
  /// The outcome (final accuracy, weights path, …) as JSON text, once finished.
  public var resultJSON: String?
  /// Why it failed, for `failed`.
  public var error: String?
  public var createdAt: Date
  public var updatedAt: Date

  public init(
    id: String, kind: String, searchID: String?, specJSON: String, state: JobState, checkpointDir: String?,
    progressJSON: String?, resultJSON: String?, error: String?, createdAt: Date, updatedAt: Date
  ) {
    self.id = id
    self.kind = kind
    self.searchID = searchID
    self.specJSON = specJSON
    self.state = state
    self.checkpointDir = checkpointDir
    self.progressJSON = progressJSON
    self.resultJSON = resultJSON
    self.error = error
    self.createdAt = createdAt
    self.updatedAt = updatedAt
  }
}
