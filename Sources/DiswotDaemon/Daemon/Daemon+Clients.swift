import DiswotLog
import DiswotDistillation
import DiswotJSON
import DiswotScoring
import DiswotSearch
import DiswotStore
import DiswotWire
import Foundation

// Client requests: decode strictly, answer every malformed request with an error reply
// (or drop it when it is not even addressable), execute, cache replies of commands that
// change state so a retried request (same id) gets the same answer.

extension Daemon {
  func handleClient(_ message: ZMQMessage) {
    guard let (envelope, content) = Envelope.split(message.frames) else { return }
    let request: ClientRequest
    do {
      request = try WireMessage.decodeClientRequest(frames: content)
    } catch {
      sendReply(envelope, error.reply)
      return
    }
    if let cached = replies.reply(for: request.requestID), cached.command == request.command.rawValue {
      sendReply(envelope, cached)
      return
    }
    var body: ReplyBody
    do {
      body = .ok(try execute(request, user: message.userID))
    } catch let error as WireError {
      body = .error(error)
    } catch {
      Log.error("\(request.command.rawValue) failed: \(error)")
      body = .error(WireError(.internal, "\(error)"))
    }
    if WireMessage.encodeJSON(body.json).count > WireProtocol.maxBodyBytes {
      body = .error(WireError(.tooLarge, "the reply would exceed \(WireProtocol.maxBodyBytes) bytes; ask for less (a smaller k)"))
    }
    let reply = ClientReply(to: request, body: body)
    switch request.command {
    case .searchStart, .searchCancel, .searchPause, .searchResume, .trainStart, .trainCancel, .teachersStart: replies.store(reply)
    default: break
    }
    sendReply(envelope, reply)
  }

  private func execute(_ request: ClientRequest, user: String?) throws -> JSONValue {
    let body = request.body
    let check = { (allowed: Set<String>) throws(WireError) in
      try RequestValidation.checkMembers(body, allowed: allowed, command: request.command.rawValue)
    }
    switch request.command {
    case .searchStart: return try startSearch(body, requestID: request.requestID, user: user)
    case .searchStatus:
      try check(["id"])
      return try searchStatus(try RequestValidation.id(body))
    case .searchList:
      try check(["limit"])
      return try searchList(limit: try intField(body, "limit", default: 100, range: 1...1000))
    case .searchBest:
      try check(["id", "k", "pareto"])
      let pareto: Bool
      switch body["pareto"] {
      case nil, .null?: pareto = false
      case .bool(let b)?: pareto = b
      default: throw WireError(.invalidArgument, "field 'pareto' must be a boolean")
      }
      return try searchBest(
        try RequestValidation.id(body), k: try intField(body, "k", default: 10, range: 1...RequestValidation.maxBest), pareto: pareto)
    case .searchCancel:
      try check(["id"])
      return try cancelSearch(try RequestValidation.id(body))
    case .searchPause:
      try check(["id"])
      return try pauseSearch(try RequestValidation.id(body), pause: true)
    case .searchResume:
      try check(["id"])
      return try pauseSearch(try RequestValidation.id(body), pause: false)
    case .trainStart: return try startTraining(body, requestID: request.requestID, user: user)
    case .trainStatus:
      try check(["id"])
      return try jobStatus(try RequestValidation.id(body))
    case .trainList:
      try check(["limit"])
      return try jobList(limit: try intField(body, "limit", default: 100, range: 1...1000))
    case .trainMetrics:
      try check(["id"])
      return try jobMetrics(try RequestValidation.id(body))
    case .trainCancel:
      try check(["id"])
      return try cancelJob(try RequestValidation.id(body))
    case .teachersStart: return try startTeachers(body, requestID: request.requestID, user: user)
    case .teachersStatus:
      try check(["id"])
      let id = try RequestValidation.id(body)
      guard let record = try store.job(id: id), record.kind == Self.rankingKind else {
        throw WireError(.notFound, "no teacher ranking with id '\(id)'")
      }
      return try jobStatus(record)
    case .workers:
      try check([])
      return ["workers": .array(workers.values.sorted { $0.joinedAt < $1.joinedAt }.map(workerJSON))]
    case .health:
      try check([])
      return [
        "status": "ok", "version": .string(WireProtocol.softwareVersion), "protocol": .string(WireProtocol.tag),
        "uptime_s": .double(Date().timeIntervalSince(startedAt)), "searches": .int(searches.count), "jobs": .int(jobs.count),
        "workers": .int(workers.count), "curve": .bool(serverKey != nil),
        "endpoints": [
          "client": .string(clientEndpoint), "workers": .string(workerEndpoint), "events": .string(eventEndpoint),
          "http": http.map { .string($0.url) } ?? .null,
        ],
      ]
    case .version:
      try check([])
      return ["protocol": .string(WireProtocol.tag), "version": .string(WireProtocol.softwareVersion)]
    }
  }

  private func intField(_ body: [String: JSONValue], _ name: String, default fallback: Int, range: ClosedRange<Int>) throws(WireError) -> Int {
    guard let value = body[name], value != .null else { return fallback }
    guard let n = value.intValue, range.contains(n) else {
      throw WireError(.invalidArgument, "field '\(name)' must be an integer between \(range.lowerBound) and \(range.upperBound)")
    }
    return n
  }

  // MARK: - Searches

  private func startSearch(_ body: [String: JSONValue], requestID: String, user: String?) throws -> JSONValue {
    if let existing = startedBy[requestID] { return ["id": .string(existing)] }
    let (checked, space, engine) = try RequestValidation.searchStart(body, dataRoot: dataRoot)
    do { try checked.scoring.checkMemory(space: space, limit: configuration.maxMemory) } catch {
      throw WireError(.invalidArgument, "scoring: \(error)")
    }
    var document = checked
    document.requestID = requestID
    document.user = user
    let record = try store.insertSearch(specJSON: try JSONCoding.text(document), state: .running, engineJSON: try EngineCheckpoint.encode(engine))
    let run = try SearchRun(
      id: record.id, document: document, state: .running, engine: engine, space: space, evaluations: 0,
      createdAt: record.createdAt, memoryLimit: configuration.maxMemory)
    searches[record.id] = run
    searchOrder.append(record.id)
    startedBy[requestID] = record.id
    Log.info("search \(record.id) started\(user.map { " by \($0)" } ?? ""): \(space.name), \(document.search.strategy.rawValue), budget \(document.search.budget), \(run.proxy.rawValue) against \(document.scoring.teacher.name ?? "an architecture of the space")")
    publish(EventTopic.search(record.id), ["event": "started", "budget": .int(document.search.budget)])
    publish(EventTopic.search(record.id), ["event": "state", "state": "running"])
    dispatchNeeded = true
    return ["id": .string(record.id)]
  }

  func searchRecord(_ id: String) throws -> SearchRecord {
    guard let record = try store.search(id: id) else { throw WireError(.notFound, "no search with id '\(id)'") }
    return record
  }

  /// The engine state of a search apart from its history: in memory, or its checkpoint.
  private func checkpoint(of record: SearchRecord) -> SearchEngine.Checkpoint? {
    if let run = searches[record.id] { return run.engine.checkpoint }
    return record.engineJSON.flatMap { try? EngineCheckpoint.decode($0) }
  }

  /// Key → evaluation index (1-based, the order evaluations were recorded in).
  private func evaluationIndices(_ id: String) throws -> [String: Int] {
    if let run = searches[id] {
      return Dictionary(run.engine.history.map { ($0.key, $0.index) }, uniquingKeysWith: { a, _ in a })
    }
    let keys = try store.evaluatedKeys(searchID: id)
    return Dictionary(keys.enumerated().map { ($1, $0 + 1) }, uniquingKeysWith: { a, _ in a })
  }

  private func document(of record: SearchRecord) throws -> SearchDocument {
    if let run = searches[record.id] { return run.document }
    return try JSONDecoder().decode(SearchDocument.self, from: Data(record.specJSON.utf8))
  }

  /// One evaluation as clients see it (`search.best` items, `best` of a status).
  func evaluationJSON(_ e: EvaluationRecord, proxy: Proxy, index: Int?) -> JSONValue {
    let scores = JSONValue.parse(e.scoresJSON) ?? .object([:])
    let raw = scores.objectValue?[proxy.rawValue]?.doubleValue ?? (proxy.higherIsBetter ? e.score : -e.score)
    var item: [String: JSONValue] = [
      "key": .string(e.key), "arch": JSONValue.parse(e.archJSON) ?? .null, "score": .double(raw), "objective": .double(e.score),
      "params": .int(e.params), "macs": .int(e.macs), "seconds": .double(e.seconds), "scores": scores,
      "created": .string(iso8601(e.createdAt)),
    ]
    if let index { item["index"] = .int(index) }
    if let worker = e.worker { item["worker"] = .string(worker) }
    return .object(item)
  }

  /// One unscorable candidate as clients see it (`unscorable` items of `search.best`).
  func unscorableJSON(_ u: UnscorableRecord) -> JSONValue {
    var item: [String: JSONValue] = [
      "key": .string(u.key), "arch": JSONValue.parse(u.archJSON) ?? .null, "reason": .string(u.reason),
      "created": .string(iso8601(u.createdAt)),
    ]
    if let worker = u.worker { item["worker"] = .string(worker) }
    return .object(item)
  }

  func searchStatus(_ id: String) throws -> JSONValue {
    let record = try searchRecord(id)
    let document = try document(of: record)
    let engine = checkpoint(of: record)
    let proxy = document.scoring.proxies.first ?? .diswot
    var status: [String: JSONValue] = [
      "id": .string(id), "state": .string(searches[id]?.state.rawValue ?? record.state.rawValue),
      "strategy": .string(document.search.strategy.rawValue), "proxy": .string(proxy.rawValue),
      "space": .string(document.scoring.space), "budget": .int(document.search.budget),
      "evaluations": .int(try searches[id]?.evaluations ?? store.evaluationCount(searchID: id)),
      "unscorable": .int(try searches[id]?.engine.unscorable.count ?? store.unscorableCount(searchID: id)),
      "created": .string(iso8601(record.createdAt)), "updated": .string(iso8601(record.updatedAt)),
    ]
    if let name = document.name { status["name"] = .string(name) }
    if let user = document.user { status["user"] = .string(user) }
    if let error = record.error { status["error"] = .string(error) }
    if let engine {
      status["spent"] = .int(engine.spent)
      status["engine_status"] = .string(engine.status.description)
    }
    if let run = searches[id] {
      status["in_flight"] = .int(run.inFlight.count)
      status["queued"] = .int(run.queue.count)
    }
    if let best = try store.bestEvaluations(searchID: id, limit: 1).first {
      status["best"] = evaluationJSON(best, proxy: proxy, index: try evaluationIndices(id)[best.key])
    }
    return .object(status)
  }

  func searchList(limit: Int) throws -> JSONValue {
    var items: [JSONValue] = []
    for record in try store.searches().prefix(limit) {
      var item: [String: JSONValue] = [
        "id": .string(record.id), "state": .string(searches[record.id]?.state.rawValue ?? record.state.rawValue),
        "evaluations": .int(try store.evaluationCount(searchID: record.id)), "created": .string(iso8601(record.createdAt)),
      ]
      if let document = try? document(of: record) {
        item["budget"] = .int(document.search.budget)
        item["space"] = .string(document.scoring.space)
        item["proxy"] = .string((document.scoring.proxies.first ?? .diswot).rawValue)
        if let name = document.name { item["name"] = .string(name) }
        if let best = try store.bestEvaluations(searchID: record.id, limit: 1).first {
          item["best"] = evaluationJSON(best, proxy: document.scoring.proxies.first ?? .diswot, index: nil)
        }
      }
      items.append(.object(item))
    }
    return ["searches": .array(items)]
  }

  func searchBest(_ id: String, k: Int, pareto: Bool) throws -> JSONValue {
    let record = try searchRecord(id)
    let document = try document(of: record)
    let proxy = document.scoring.proxies.first ?? .diswot
    _ = record
    let indices = try evaluationIndices(id)
    var reply: [String: JSONValue] = [
      "id": .string(id), "proxy": .string(proxy.rawValue),
      "best": .array(try store.bestEvaluations(searchID: id, limit: k).map { evaluationJSON($0, proxy: proxy, index: indices[$0.key]) }),
      "evaluations": .int(try store.evaluationCount(searchID: id)),
      "unscorable": .array(try store.unscorable(searchID: id, limit: k).map(unscorableJSON)),
      "spec": try document.provenance.map { try JSONCoding.value($0) } ?? .null,
    ]
    if pareto {
      let all = try store.evaluations(searchID: id)
      let front = paretoFront(all, score: { $0.score }, cost: { $0.macs })
      reply["pareto"] = .array(front.map { evaluationJSON($0, proxy: proxy, index: indices[$0.key]) })
    }
    return .object(reply)
  }

  private func cancelSearch(_ id: String) throws -> JSONValue {
    guard let run = searches[id] else {
      let record = try searchRecord(id)
      throw WireError(.invalidArgument, "search \(id) is already \(record.state.rawValue)")
    }
    try endSearch(run, state: .cancelled, error: nil)
    return ["id": .string(id), "state": "cancelled"]
  }

  private func pauseSearch(_ id: String, pause: Bool) throws -> JSONValue {
    guard let run = searches[id] else {
      let record = try searchRecord(id)
      throw WireError(.invalidArgument, "search \(id) is \(record.state.rawValue); only running searches can be paused or resumed")
    }
    let target: SearchState = pause ? .paused : .running
    if run.state != target {
      try store.setSearchState(id, target)
      run.state = target
      Log.info("search \(id) \(pause ? "paused" : "resumed")")
      publish(EventTopic.search(id), ["event": "state", "state": .string(target.rawValue)])
      if !pause, run.isDrained { try finishSearch(run) }
      dispatchNeeded = true
    }
    return ["id": .string(id), "state": .string(target.rawValue)]
  }

  // MARK: - Training jobs

  private func startTraining(_ body: [String: JSONValue], requestID: String, user: String?) throws -> JSONValue {
    try RequestValidation.checkMembers(body, allowed: ["spec", "search_id", "name"], command: "train.start")
    if let existing = startedBy[requestID] { return ["id": .string(existing)] }
    guard let specJSON = body["spec"] else { throw WireError(.invalidArgument, "missing field 'spec'") }
    var spec = try RequestValidation.trainingSpec(specJSON, dataRoot: dataRoot)
    var searchID: String?
    if body["search_id"] != nil, body["search_id"] != .null {
      let id = try RequestValidation.id(body, "search_id")
      searchID = id
      guard spec.student == TrainingSpec.Student() else {
        throw WireError(.invalidArgument, "give the student as search_id or in spec.student, not both")
      }
      let record = try searchRecord(id)
      if searches[id] != nil || !record.state.isTerminal {
        throw WireError(.invalidArgument, "search \(id) is still \(searches[id]?.state.rawValue ?? record.state.rawValue); wait for it to finish (or cancel it) first")
      }
      guard let best = try store.bestEvaluations(searchID: id, limit: 1).first, let arch = JSONValue.parse(best.archJSON) else {
        throw WireError(.invalidArgument, "search \(id) has no evaluations to take a student from")
      }
      let document = try JSONDecoder().decode(SearchDocument.self, from: Data(record.specJSON.utf8))
      spec.student = TrainingSpec.Student(space: document.scoring.space, arch: arch)
    }
    try RequestValidation.checkStudent(&spec, dataRoot: dataRoot)
    if spec.checkpointEverySteps == 0 { spec.checkpointEverySteps = configuration.jobCheckpointSteps }
    let id = Store.makeID(prefix: "j")
    let directory = jobsDirectory + "/" + id
    let document = JobDocument(
      spec: spec, name: try RequestValidation.name(body), requestID: requestID, user: user,
      provenance: try RequestValidation.provenance(of: spec, dataRoot: dataRoot))
    let record = try store.insertJob(
      id: id, kind: "train", searchID: searchID, specJSON: try JSONCoding.text(document), state: .queued, checkpointDir: directory)
    jobs[id] = JobRun(id: id, document: document, searchID: searchID, directory: directory, state: .queued, createdAt: record.createdAt)
    startedBy[requestID] = id
    Log.info("training job \(id) queued\(user.map { " by \($0)" } ?? ""): student \(spec.student.name ?? spec.student.arch?.compactText ?? "?"), \(spec.epochs) epochs on \(spec.data)")
    publish(EventTopic.train(id), ["event": "state", "state": "queued"])
    dispatchNeeded = true
    return ["id": .string(id), "student": try JSONCoding.value(spec.student)]
  }

  /// The `jobs.kind` of a teacher ranking.
  static let rankingKind = "teachers"

  /// `teachers.start`: checked (paths inside the data root, the data opened, every
  /// candidate's architecture read) before it is stored, so a bad request is an error
  /// reply; the ranking itself runs on a worker.
  private func startTeachers(_ body: [String: JSONValue], requestID: String, user: String?) throws -> JSONValue {
    try RequestValidation.checkMembers(body, allowed: ["spec", "name"], command: "teachers.start")
    if let existing = startedBy[requestID] { return ["id": .string(existing)] }
    guard let specJSON = body["spec"] else { throw WireError(.invalidArgument, "missing field 'spec'") }
    let spec = try RequestValidation.teacherRanking(specJSON, dataRoot: dataRoot)
    let id = Store.makeID(prefix: "t")
    let document = JobDocument(teachers: spec, name: try RequestValidation.name(body), requestID: requestID, user: user)
    let record = try store.insertJob(
      id: id, kind: Self.rankingKind, searchID: nil, specJSON: try JSONCoding.text(document), state: .queued, checkpointDir: nil)
    jobs[id] = JobRun(id: id, document: document, searchID: nil, directory: jobsDirectory + "/" + id, state: .queued, createdAt: record.createdAt)
    startedBy[requestID] = id
    Log.info("teacher ranking \(id) queued\(user.map { " by \($0)" } ?? ""): \(spec.candidates.count) candidates on \(spec.data)")
    publish(EventTopic.teachers(id), ["event": "state", "state": "queued"])
    dispatchNeeded = true
    return ["id": .string(id)]
  }

  func jobStatus(_ id: String) throws -> JSONValue {
    guard let record = try store.job(id: id) else { throw WireError(.notFound, "no training job with id '\(id)'") }
    return try jobStatus(record)
  }

  /// Every job the store knows, newest first, as `train.status` describes each: a client
  /// that stopped following a job (Ctrl-C of `train start --wait`) finds it again here.
  func jobList(limit: Int) throws -> JSONValue {
    ["jobs": .array(try store.jobs().reversed().prefix(limit).map(jobStatus))]
  }

  private func jobStatus(_ record: JobRecord) throws -> JSONValue {
    let id = record.id
    let job = jobs[id]
    var status: [String: JSONValue] = [
      "id": .string(id), "state": .string(job?.state.rawValue ?? record.state.rawValue), "kind": .string(record.kind),
      "created": .string(iso8601(record.createdAt)), "updated": .string(iso8601(record.updatedAt)),
    ]
    if let searchID = record.searchID { status["search_id"] = .string(searchID) }
    if let dir = record.checkpointDir { status["directory"] = .string(dir) }
    if let document = job?.document ?? (try? JSONDecoder().decode(JobDocument.self, from: Data(record.specJSON.utf8))) {
      if let spec = document.spec {
        status["student"] = (try? JSONCoding.value(spec.student)) ?? .null
        status["epochs"] = .int(spec.epochs)
        status["data"] = .string(spec.data)
        status["spec"] = try document.provenance.map { try JSONCoding.value($0) } ?? .null
      }
      if let teachers = document.teachers {
        status["data"] = .string(teachers.data)
        status["request"] = try JSONCoding.value(teachers)
      }
      if let name = document.name { status["name"] = .string(name) }
    }
    if let progress = job?.progress ?? record.progressJSON.flatMap({ JSONValue.parse($0)?.objectValue }) {
      status["progress"] = .object(progress)
    }
    if let result = record.resultJSON.flatMap(JSONValue.parse) { status["result"] = result }
    if let error = record.error { status["error"] = .string(error) }
    if let job {
      status["attempts"] = .int(job.attempts)
      if let w = job.worker { status["worker"] = .string(WorkerSession.display(w)) }
    }
    return .object(status)
  }

  private func cancelJob(_ id: String) throws -> JSONValue {
    guard let job = jobs[id] else {
      guard let record = try store.job(id: id) else { throw WireError(.notFound, "no training job with id '\(id)'") }
      throw WireError(.invalidArgument, "\(record.kind == Self.rankingKind ? "teacher ranking" : "training job") \(id) is already \(record.state.rawValue)")
    }
    // Committed first: a failed write leaves the job running, as the store says.
    try store.updateJob(id, state: .cancelled, progressJSON: job.progress.map { JSONValue.object($0).compactText })
    if let identity = job.worker {
      sendWorker(identity, WorkerMessage(WorkerCancel(jobID: id)))
      if workers[identity]?.job == id { workers[identity]?.job = nil }
    }
    jobs[id] = nil
    Log.info("\(job.label) \(id) cancelled")
    publish(job.topic, ["event": "state", "state": "cancelled"])
    dispatchNeeded = true
    return ["id": .string(id), "state": "cancelled"]
  }

  func workerJSON(_ w: WorkerSession) -> JSONValue {
    var item: [String: JSONValue] = [
      "id": .string(w.displayID), "version": .string(w.version), "capabilities": .array(w.capabilities.map(JSONValue.string)),
      "threads": .int(w.threads), "busy": .bool(!w.isIdle), "tasks": .int(w.tasks.count), "tasks_done": .int(w.tasksDone),
      "last_seen_ms": .int(Monotonic.milliseconds() - w.lastHeard), "joined": .string(iso8601(w.joinedAt)),
    ]
    if let name = w.name { item["name"] = .string(name) }
    if let job = w.job { item["job"] = .string(job) }
    if let user = w.user { item["user"] = .string(user) }
    if w.strikes > 0 { item["strikes"] = .int(w.strikes) }
    if let reason = w.quarantined { item["quarantined"] = .string(reason) }
    return .object(item)
  }
}
