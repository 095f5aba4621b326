import DiswotDistillation
import DiswotJSON
import DiswotModels
import DiswotScoring
import DiswotSearch
import DiswotStore
import DiswotWire
import Foundation

/// What `searches.spec_json` holds: the `search.start` request, checked and with its paths
/// resolved, plus who asked and with which request id (so a retried `search.start` finds
/// the search it already started, even across a daemon restart).
struct SearchDocument: Codable {
  var scoring: ScoringSpec
  var search: SearchConfiguration
  var constraints: Constraints
  var name: String?
  var requestID: String?
  var user: String?
  /// How the search's results are made, fixed at `search.start` (the teacher's weights
  /// hashed then); nil for searches stored by a daemon before it was recorded.
  var provenance: Provenance?

  enum CodingKeys: String, CodingKey {
    case scoring, search, constraints, name, user, provenance
    case requestID = "request_id"
  }
}

/// What `jobs.spec_json` holds: a training job's `spec`, or a teacher ranking's `teachers`.
struct JobDocument: Codable {
  /// The trainer's settings, student filled in (from the search's best when asked); nil
  /// for a teacher ranking.
  var spec: TrainingSpec?
  /// A teacher ranking's request, paths resolved (`teachers.start`); nil for training.
  var teachers: TeacherRankingSpec?
  var name: String?
  var requestID: String?
  var user: String?
  /// How the job's student is made, fixed at `train.start` (the teacher's weights hashed
  /// then); nil for jobs stored by a daemon before it was recorded.
  var provenance: Provenance?

  enum CodingKeys: String, CodingKey {
    case spec, teachers, name, user, provenance
    case requestID = "request_id"
  }
}

/// A search the daemon is running or holding paused: its engine (the truth about what was
/// proposed and scored, checkpointed with every evaluation), the candidates waiting for a
/// worker and the ones out on TASKs.
final class SearchRun {
  let id: String
  let document: SearchDocument
  var state: SearchState
  var engine: SearchEngine
  let space: SearchSpace
  let costs: CostModel
  /// The `ScoringSpec` JSON every TASK of this search carries.
  let scoring: [String: JSONValue]
  /// The objective: the first proxy; `sign` makes it higher-is-better for the engine.
  let proxy: Proxy
  let sign: Double
  /// Proposed candidates waiting for a worker (restored pending proposals, re-queued tasks).
  var queue: [SearchEngine.Proposal] = []
  /// Keys out on TASKs.
  var inFlight: Set<String> = []
  /// Errors reported per key (a candidate fails the search after `candidateAttempts`).
  var failures: [String: Int] = [:]
  /// Per key, the workers on which a task holding it outlived its lease (see `Daemon+Leases`).
  var expiredOn: [String: Set<String>] = [:]
  /// Rows of RESULTs that arrived ahead of their turn: the engine applies scores in
  /// proposal order, and each row is stored when its score is applied. Lost on a restart,
  /// like the engine's waiting scores; those candidates are handed out again.
  var arrivedRecords: [String: EvaluationRecord] = [:]
  /// The same for candidates found unscorable ahead of their turn.
  var arrivedUnscorable: [String: UnscorableRecord] = [:]
  /// Rows in the store.
  var evaluations: Int
  let createdAt: Date

  init(
    id: String, document: SearchDocument, state: SearchState, engine: SearchEngine, space: SearchSpace, evaluations: Int,
    createdAt: Date, memoryLimit: MemoryLimit
  ) throws {
    self.id = id
    self.document = document
    self.state = state
    self.engine = engine
    self.space = space
    self.evaluations = evaluations
    self.createdAt = createdAt
    costs = CostModel(
      space: space, constraints: document.constraints, memory: document.scoring.memoryBudget(space: space, limit: memoryLimit))
    scoring = try JSONCoding.object(document.scoring)
    proxy = document.scoring.proxies.first ?? .diswot
    sign = proxy.higherIsBetter ? 1 : -1
  }

  /// True when nothing is queued or out, and the engine will propose nothing more.
  var isDrained: Bool {
    queue.isEmpty && inFlight.isEmpty && engine.isDone
  }

  /// Up to `count` candidates for a TASK: queued ones first, then fresh proposals, the
  /// engine yielding when `shouldYield` says so (it then `isHunting`: call again later).
  /// `proposed` says whether the engine changed (its checkpoint must then be saved).
  func take(_ count: Int, yieldingWhen shouldYield: () -> Bool) -> (candidates: [SearchEngine.Proposal], proposed: Bool) {
    var taken: [SearchEngine.Proposal] = []
    while taken.count < count, !queue.isEmpty {
      let p = queue.removeFirst()
      if inFlight.contains(p.key) || !engine.pending.contains(where: { $0.key == p.key }) { continue }
      taken.append(p)
    }
    var proposed = false
    if taken.count < count, state == .running {
      // The engine changes only by proposing something or by changing its status (when
      // it is waiting for scores it returns at once, untouched).
      let statusBefore = engine.status
      let fresh = engine.propose(count - taken.count, space: space, yieldingWhen: shouldYield, isFeasible: costs.isFeasible)
      proposed = !fresh.isEmpty || engine.status != statusBefore
      taken += fresh
    }
    for p in taken { inFlight.insert(p.key) }
    return (taken, proposed)
  }
}

/// A training or teacher-ranking job queued or running.
final class JobRun {
  let id: String
  var document: JobDocument
  let searchID: String?
  /// `<state dir>/jobs/<id>`: the trainer's run directory.
  let directory: String
  var state: JobState
  /// The worker training it.
  var worker: [UInt8]?
  /// Not before this monotonic time (after losing a worker, let it finish checkpointing).
  var notBefore = 0
  /// Times it was handed to a worker.
  var attempts = 0
  /// The latest PROGRESS body.
  var progress: [String: JSONValue]?
  var progressSavedAt = 0
  var progressEpochSaved = -1
  let createdAt: Date

  /// A teacher ranking (TEACHERS to a worker announcing `teachers`), else training.
  var isRanking: Bool { document.teachers != nil }
  /// Where its events go.
  var topic: String { isRanking ? EventTopic.teachers(id) : EventTopic.train(id) }
  /// "training job" or "teacher ranking", for log lines.
  var label: String { isRanking ? "teacher ranking" : "training job" }

  init(id: String, document: JobDocument, searchID: String?, directory: String, state: JobState, createdAt: Date) {
    self.id = id
    self.document = document
    self.searchID = searchID
    self.directory = directory
    self.state = state
    self.createdAt = createdAt
  }
}

/// A connected worker, as the daemon sees it.
final class WorkerSession {
  let identity: [UInt8]
  /// The identity as text: itself when printable, else hex.
  let displayID: String
  var name: String?
  var version: String
  var capabilities: [String]
  var threads: Int
  /// The CURVE key name it authenticated with (ZAP user id).
  var user: String?
  let joinedAt = Date()
  /// Monotonic times of the last message from it and to it.
  var lastHeard: Int
  var lastSent: Int
  /// TASK ids it holds.
  var tasks: Set<String> = []
  /// The training job it runs.
  var job: String?
  /// Held back from new TASKs until idle, for a queued training job.
  var reservedForJob = false
  var tasksDone = 0
  /// RESULTs refused and leases expired on this connection (see `Daemon+Leases`).
  var strikes = 0
  /// Why it gets no more work, once `strikes` reached `WireProtocol.quarantineStrikes`.
  var quarantined: String?

  init(identity: [UInt8], ready: WorkerReady, user: String?, now: Int) {
    self.identity = identity
    displayID = Self.display(identity)
    name = ready.name
    version = ready.version
    capabilities = ready.capabilities
    threads = ready.threads
    self.user = user
    lastHeard = now
    lastSent = now
  }

  var canScore: Bool { capabilities.contains("score") && quarantined == nil }
  var canTrain: Bool { capabilities.contains("train") && quarantined == nil }
  var canRank: Bool { capabilities.contains("teachers") && quarantined == nil }
  var isIdle: Bool { tasks.isEmpty && job == nil }

  static func display(_ identity: [UInt8]) -> String {
    if !identity.isEmpty, identity.allSatisfy({ (0x21...0x7E).contains($0) }) {
      return String(decoding: identity, as: UTF8.self)
    }
    return "0x" + identity.map { String(format: "%02x", $0) }.joined()
  }
}

/// A TASK out on a worker, with its lease.
struct TaskAssignment {
  let id: String
  let searchID: String
  let worker: [UInt8]
  let candidates: [SearchEngine.Proposal]
  /// Order of sending (a worker computes its TASKs in this order).
  let sequence: Int
  /// How long the task may take without a sign of progress, in milliseconds.
  let lease: Int
  /// Monotonic time at which the daemon takes the task back (see `Daemon+Leases`).
  var deadline: Int
}
