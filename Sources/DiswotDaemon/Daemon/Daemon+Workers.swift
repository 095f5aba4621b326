import DiswotCommandLine
import DiswotJSON
import DiswotScoring
import DiswotSearch
import DiswotStore
import DiswotWire
import Foundation

// Workers: registration, results, training progress, liveness, and dispatch (feeding each
// search's candidates and the queued training jobs to idle workers).

extension Daemon {
  func handleWorker(_ raw: ZMQMessage) {
    guard let (envelope, content) = Envelope.split(raw.frames), !envelope.hasDelimiter else { return }
    let identity = envelope.identity
    let now = Monotonic.milliseconds()
    let message: WorkerMessage
    do {
      message = try WireMessage.decodeWorkerMessage(frames: content)
    } catch {
      workers[identity]?.lastHeard = now
      if error.code == .versionMismatch {
        sendWorker(identity, WorkerMessage(WorkerDisconnect(reason: "this daemon speaks \(WireProtocol.tag): \(error.message)")))
      }
      Log.debug("malformed message from worker \(WorkerSession.display(identity)): \(error)")
      return
    }
    workers[identity]?.lastHeard = now
    switch message.command {
    case .ready: handleReady(identity, message, user: raw.userID)
    case .heartbeat:
      if workers[identity] == nil { disconnectUnknown(identity) }
    case .result: handleResult(identity, message)
    case .progress: handleProgress(identity, message)
    case .done: handleDone(identity, message)
    case .disconnect:
      if workers[identity] != nil { removeWorker(identity, reason: "disconnected") }
    case .task, .train, .cancel:
      Log.debug("worker \(WorkerSession.display(identity)) sent \(message.command.rawValue), which only the daemon sends")
    }
  }

  private func disconnectUnknown(_ identity: [UInt8]) {
    sendWorker(identity, WorkerMessage(WorkerDisconnect(reason: "unknown worker: reconnect and send READY")))
  }

  private func handleReady(_ identity: [UInt8], _ message: WorkerMessage, user: String?) {
    let ready: WorkerReady
    do {
      ready = try message.decode(WorkerReady.self)
    } catch {
      sendWorker(identity, WorkerMessage(WorkerDisconnect(reason: "bad READY: \(error.message)")))
      return
    }
    if workers[identity] != nil { removeWorker(identity, reason: "sent READY again") }
    let worker = WorkerSession(identity: identity, ready: ready, user: user, now: Monotonic.milliseconds())
    workers[identity] = worker
    Log.info("worker \(worker.displayID) joined: \(ready.name ?? "unnamed"), \(ready.capabilities.joined(separator: "+")), \(ready.threads) thread\(ready.threads == 1 ? "" : "s")\(user.map { ", key \($0)" } ?? "")")
    var event: [String: JSONValue] = ["event": "joined", "id": .string(worker.displayID)]
    if let name = ready.name { event["name"] = .string(name) }
    publish(EventTopic.workers, event)
    dispatchNeeded = true
  }

  /// Forgets a worker: its TASKs go back to their searches' queues, its training job back
  /// to the queue (after a grace period, so a worker that is alive but cut off has time to
  /// notice and checkpoint before another one resumes the run).
  func removeWorker(_ identity: [UInt8], reason: String) {
    guard let worker = workers.removeValue(forKey: identity) else { return }
    Log.warning("worker \(worker.displayID) left (\(reason)); re-queueing \(worker.tasks.count) task\(worker.tasks.count == 1 ? "" : "s")\(worker.job.map { " and job \($0)" } ?? "")")
    for taskID in worker.tasks { requeueTask(taskID) }
    if let jobID = worker.job, let job = jobs[jobID], job.worker == identity {
      job.state = .queued
      job.worker = nil
      job.notBefore = Monotonic.milliseconds() + heartbeat * (configuration.liveness + 1)
      try? store.updateJob(jobID, state: .queued)
      publish(EventTopic.train(jobID), ["event": "state", "state": "queued"])
    }
    publish(EventTopic.workers, ["event": "left", "id": .string(worker.displayID)])
    dispatchNeeded = true
  }

  /// Takes a TASK back: its unscored candidates are dispatched again (first in line).
  private func requeueTask(_ taskID: String) {
    guard let task = tasks.removeValue(forKey: taskID) else { return }
    retiredTasks[taskID] = task.searchID
    retiredOrder.append(taskID)
    if retiredOrder.count > 20_000 {
      for old in retiredOrder.prefix(10_000) { retiredTasks[old] = nil }
      retiredOrder.removeFirst(10_000)
    }
    if task.searchID == BrokerBench.searchID {
      bench?.requeue(1)
      return
    }
    guard let run = searches[task.searchID] else { return }
    let back = task.candidates.filter { p in run.engine.pending.contains { $0.key == p.key } }
    for p in task.candidates { run.inFlight.remove(p.key) }
    run.queue.insert(contentsOf: back, at: 0)
  }

  // MARK: - Results

  private func handleResult(_ identity: [UInt8], _ message: WorkerMessage) {
    defer { if workers[identity] == nil { disconnectUnknown(identity) } }
    let result: TaskResult
    do {
      result = try message.decode(TaskResult.self)
    } catch {
      Log.warning("bad RESULT from worker \(WorkerSession.display(identity)): \(error.message)")
      return
    }
    let assignment = tasks.removeValue(forKey: result.taskID)
    let searchID: String
    if let assignment {
      workers[assignment.worker]?.tasks.remove(result.taskID)
      searchID = assignment.searchID
    } else if let retired = retiredTasks[result.taskID] {
      searchID = retired  // a late RESULT: still good for candidates nobody has scored
    } else {
      Log.debug("RESULT for unknown task \(result.taskID) ignored")
      return
    }
    workers[identity]?.tasksDone += 1
    dispatchNeeded = true
    if searchID == BrokerBench.searchID {
      if assignment != nil { bench?.received(result.results.count) }
      return
    }
    guard let run = searches[searchID] else { return }  // cancelled or finished meanwhile
    record(result.results, of: assignment, in: run, from: identity)
  }

  /// Records a RESULT's scores: per candidate, the engine's `record` and the store's row,
  /// all in one transaction that also saves the engine checkpoint. A key the engine no
  /// longer has pending (already scored: a late or duplicate result) changes nothing.
  ///
  /// Unscorable candidates (`search --local`'s rule, `Proxy.unscorableReason`: an objective
  /// that is missing or not finite) are recorded as such at once — scores are the same on
  /// every worker — in the `unscorable` table and the engine. A candidate a worker refuses
  /// as too large for its memory (`too_large`) is tried again, possibly on a worker with
  /// more, and recorded unscorable after `candidateAttempts` refusals. Any other error fails
  /// the search after `candidateAttempts` attempts.
  private func record(_ results: [CandidateResult], of assignment: TaskAssignment?, in run: SearchRun, from identity: [UInt8]) {
    let expected = assignment.map { Dictionary($0.candidates.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a }) }
    var engine = run.engine
    var recorded: [(EvaluationRecord, Int)] = []
    var unscorable: [UnscorableRecord] = []
    var retry: [SearchEngine.Proposal] = []
    var failure: String?
    var answered: Set<String> = []
    let worker = WorkerSession.display(identity)
    do {
      try store.transaction {
        func markUnscorable(_ proposal: SearchEngine.Proposal, _ reason: String) throws {
          let before = engine
          guard engine.recordUnscorable(key: proposal.key, reason: reason) else { return }
          let row = UnscorableRecord(
            searchID: run.id, key: proposal.key, archJSON: run.space.json(of: proposal.genotype).compactText, reason: reason,
            worker: worker)
          if try store.recordUnscorable(row) { unscorable.append(row) } else { engine = before }
        }
        for r in results {
          if let expected, expected[r.key] == nil { continue }  // not a candidate of this task
          answered.insert(r.key)
          guard let proposal = engine.pending.first(where: { $0.key == r.key }) else { continue }
          if let error = r.error {
            let failures = (run.failures[r.key] ?? 0) + 1
            run.failures[r.key] = failures
            Log.warning("worker \(worker) could not score \(r.key) (attempt \(failures)): \(error)")
            if failures < configuration.candidateAttempts {
              retry.append(proposal)
            } else if error.code == .tooLarge {
              try markUnscorable(proposal, error.message)
            } else {
              failure = "candidate \(r.key) could not be scored after \(failures) attempts: \(error.message)"
            }
            continue
          }
          if let reason = run.proxy.unscorableReason(in: r.scores) {
            try markUnscorable(proposal, reason)
            continue
          }
          let objective = run.sign * r.scores[run.proxy.rawValue]!
          let before = engine
          guard engine.record(key: r.key, score: objective) else { continue }
          let evaluation = EvaluationRecord(
            searchID: run.id, key: r.key, archJSON: run.space.json(of: proposal.genotype).compactText,
            scoresJSON: JSONValue.object(r.scores.mapValues { $0.isFinite ? .double($0) : .null }).compactText,
            params: r.params ?? 0, macs: r.macs ?? 0, score: objective, worker: worker,
            seconds: r.seconds.isFinite ? r.seconds : 0)
          if try store.recordEvaluation(evaluation, engineJSON: nil) {
            recorded.append((evaluation, engine.history.count))
          } else {
            engine = before  // already in the store: never count it twice
          }
        }
        if !recorded.isEmpty || !unscorable.isEmpty {
          try store.saveEngine(run.id, engineJSON: try EngineCheckpoint.encode(engine))
        }
      }
    } catch {
      Log.error("cannot record results of search \(run.id): \(error)")
      if let assignment {
        for p in assignment.candidates { run.inFlight.remove(p.key) }
        run.queue.insert(contentsOf: assignment.candidates.filter { p in run.engine.pending.contains { $0.key == p.key } }, at: 0)
      }
      return
    }
    let bestBefore = run.engine.best
    run.engine = engine
    run.evaluations += recorded.count
    if let assignment {
      for p in assignment.candidates {
        run.inFlight.remove(p.key)
        if !answered.contains(p.key), engine.pending.contains(where: { $0.key == p.key }) { retry.append(p) }
      }
    } else {
      // A late result: drop the keys it settled from the queue.
      let settled = Set(recorded.map { $0.0.key } + unscorable.map(\.key))
      run.queue.removeAll { settled.contains($0.key) }
    }
    run.queue.insert(contentsOf: retry, at: 0)
    for (evaluation, index) in recorded {
      let best = engine.best
      publish(EventTopic.search(run.id), [
        "event": "evaluated", "key": .string(evaluation.key), "score": .double(run.sign * evaluation.score),
        "index": .int(index), "evaluations": .int(run.evaluations), "budget": .int(engine.configuration.budget),
        "best_key": best.map { .string($0.key) } ?? .null, "best_score": best.map { .double(run.sign * $0.score) } ?? .null,
      ])
    }
    for row in unscorable {
      Log.warning("search \(run.id): \(row.key) is unscorable: \(row.reason)")
      publish(EventTopic.search(run.id), [
        "event": "unscorable", "key": .string(row.key), "reason": .string(row.reason),
        "unscorable": .int(engine.unscorable.count), "budget": .int(engine.configuration.budget),
      ])
    }
    if let best = engine.best, best.key != bestBefore?.key {
      publish(EventTopic.search(run.id), ["event": "best", "key": .string(best.key), "score": .double(run.sign * best.score), "index": .int(best.index)])
      Log.debug("search \(run.id): new best \(best.key) \(run.sign * best.score) at evaluation \(best.index)")
    }
    if let failure {
      endSearch(run, state: .failed, error: failure)
    } else if run.state == .running, run.isDrained {
      finishSearch(run)
    }
  }

  /// Ends a search that has nothing left to do: finished, or failed without a single
  /// finite score (`SearchEngine.failure`: the constraints admitted no architecture, or
  /// every candidate was unscorable).
  func finishSearch(_ run: SearchRun) {
    endSearch(run, state: run.engine.failure == nil ? .finished : .failed, error: run.engine.failure)
  }

  /// Takes a search out of the loop in a terminal state: its TASKs are cancelled on the
  /// workers, the engine checkpoint and the state committed together.
  func endSearch(_ run: SearchRun, state: SearchState, error: String?) {
    for (taskID, task) in tasks where task.searchID == run.id {
      tasks[taskID] = nil
      workers[task.worker]?.tasks.remove(taskID)
      sendWorker(task.worker, WorkerMessage(WorkerCancel(taskID: taskID)))
    }
    do {
      try store.transaction {
        try store.saveEngine(run.id, engineJSON: try EngineCheckpoint.encode(run.engine))
        try store.setSearchState(run.id, state, error: error)
      }
    } catch {
      Log.error("cannot save the end of search \(run.id): \(error)")
    }
    run.state = state
    searches[run.id] = nil
    searchOrder.removeAll { $0 == run.id }
    let best = run.engine.best
    Log.info("search \(run.id) \(state.rawValue) after \(run.evaluations) evaluations and \(run.engine.unscorable.count) unscorable (engine: \(run.engine.status))\(best.map { "; best \($0.key) \(run.sign * $0.score)" } ?? "")\(error.map { ": \($0)" } ?? "")")
    var event: [String: JSONValue] = ["event": "state", "state": .string(state.rawValue), "evaluations": .int(run.evaluations)]
    if let error { event["error"] = .string(error) }
    publish(EventTopic.search(run.id), event)
    dispatchNeeded = true
  }

  // MARK: - Training progress

  private func handleProgress(_ identity: [UInt8], _ message: WorkerMessage) {
    guard let progress = try? message.decode(JobProgress.self), let job = jobs[progress.jobID], job.worker == identity else { return }
    job.progress = progress.progress
    let now = Monotonic.milliseconds()
    let epoch = progress.progress["epoch"]?.intValue ?? 0
    if epoch != job.progressEpochSaved || now - job.progressSavedAt >= 2_000 {
      try? store.updateJob(job.id, progressJSON: JSONValue.object(progress.progress).compactText)
      job.progressSavedAt = now
      job.progressEpochSaved = epoch
    }
    var event = progress.progress
    event["event"] = "progress"
    publish(EventTopic.train(job.id), event)
  }

  private func handleDone(_ identity: [UInt8], _ message: WorkerMessage) {
    defer { if workers[identity] == nil { disconnectUnknown(identity) } }
    guard let done = try? message.decode(JobDone.self), let job = jobs[done.jobID] else { return }
    if let worker = workers[identity], worker.job == job.id { worker.job = nil }
    dispatchNeeded = true
    guard job.worker == identity || (job.state == .queued && job.worker == nil) else { return }
    switch done.outcome {
    case .success(let result):
      do {
        try store.updateJob(
          job.id, state: .finished, progressJSON: job.progress.map { JSONValue.object($0).compactText },
          resultJSON: JSONValue.object(result).compactText)
      } catch {
        Log.error("cannot save the result of job \(job.id): \(error)")
        return
      }
      jobs[job.id] = nil
      Log.info("training job \(job.id) finished: \(JSONValue.object(result).compactText)")
      publish(EventTopic.train(job.id), ["event": "state", "state": "finished", "result": .object(result)])
    case .failure(let error) where error.code == .unavailable:
      guard job.state == .running else { return }
      Log.warning("training job \(job.id) interrupted on its worker (\(error.message)); queued again")
      job.state = .queued
      job.worker = nil
      job.notBefore = Monotonic.milliseconds() + heartbeat
      try? store.updateJob(job.id, state: .queued)
      publish(EventTopic.train(job.id), ["event": "state", "state": "queued"])
    case .failure(let error):
      try? store.updateJob(job.id, state: .failed, error: error.message)
      jobs[job.id] = nil
      Log.error("training job \(job.id) failed: \(error.message)")
      publish(EventTopic.train(job.id), ["event": "state", "state": "failed", "error": .string(error.message)])
    }
  }

  // MARK: - Dispatch

  /// Hands queued training jobs to idle training workers (reserving busy ones until they
  /// are idle), then fills every scoring worker's slots with candidates, visiting the
  /// running searches in turn.
  func dispatch() {
    if bench != nil {
      dispatchBench()
      return
    }
    dispatchJobs()
    dispatchTasks()
  }

  private func dispatchJobs() {
    let now = Monotonic.milliseconds()
    let waiting = jobs.values.filter { $0.state == .queued }.sorted { $0.createdAt < $1.createdAt }
    if waiting.isEmpty {
      for worker in workers.values { worker.reservedForJob = false }
      return
    }
    for job in waiting where job.notBefore <= now {
      let candidates = workers.values.filter { $0.canTrain && $0.job == nil }
      if let idle = candidates.filter(\.isIdle).sorted(by: { $0.reservedForJob && !$1.reservedForJob }).first {
        startJob(job, on: idle)
      }
    }
    // Hold back as many busy training workers as jobs still wait, so scoring cannot starve them.
    let stillWaiting = jobs.values.filter { $0.state == .queued }.count
    var reserved = workers.values.filter(\.reservedForJob).count
    for worker in workers.values.filter({ $0.canTrain && $0.job == nil && !$0.reservedForJob }).sorted(by: { $0.tasks.count < $1.tasks.count })
    where reserved < stillWaiting {
      worker.reservedForJob = true
      reserved += 1
    }
  }

  private func startJob(_ job: JobRun, on worker: WorkerSession) {
    job.attempts += 1
    if job.attempts > configuration.jobAttempts {
      try? store.updateJob(job.id, state: .failed, error: "gave up after \(configuration.jobAttempts) attempts on workers that went away")
      jobs[job.id] = nil
      publish(EventTopic.train(job.id), ["event": "state", "state": "failed"])
      return
    }
    let spec: [String: JSONValue]
    do { spec = try JSONCoding.object(job.document.spec) } catch {
      try? store.updateJob(job.id, state: .failed, error: "\(error)")
      jobs[job.id] = nil
      return
    }
    guard sendWorker(worker.identity, WorkerMessage(TrainJob(jobID: job.id, spec: spec, directory: job.directory))) else { return }
    worker.job = job.id
    worker.reservedForJob = false
    job.state = .running
    job.worker = worker.identity
    try? store.updateJob(job.id, state: .running)
    Log.info("training job \(job.id) → worker \(worker.displayID) (attempt \(job.attempts))")
    publish(EventTopic.train(job.id), ["event": "state", "state": "running", "worker": .string(worker.displayID)])
  }

  private func dispatchTasks() {
    var running = searchOrder.compactMap { searches[$0] }.filter { $0.state == .running }
    guard !running.isEmpty else { return }
    let scorers = workers.values.filter { $0.canScore && $0.job == nil && !$0.reservedForJob }
    let depth = 1 + configuration.prefetch
    let slots = max(1, scorers.count * depth)
    var cursor = 0
    var progress = true
    while progress, !running.isEmpty {
      progress = false
      for worker in scorers.sorted(by: { $0.tasks.count < $1.tasks.count }) where worker.tasks.count < depth {
        for _ in 0..<running.count {
          let run = running[cursor % running.count]
          cursor += 1
          guard run.state == .running else { continue }
          let remaining = run.queue.count + max(0, run.engine.configuration.budget - run.engine.spent)
          let size = max(1, min(configuration.maxCandidatesPerTask, (remaining + slots - 1) / slots))
          // Proposing is not checkpointed on its own: the next evaluation's checkpoint
          // carries the new pending proposals, and after a crash before it the restored
          // engine (same generator state, same history) proposes the same candidates again.
          let (candidates, _) = run.take(size)
          if candidates.isEmpty {
            // Nothing queued, nothing out and nothing new: the search is over.
            if run.queue.isEmpty && run.inFlight.isEmpty { finishSearch(run) }
            continue
          }
          sendTask(candidates, of: run, to: worker)
          progress = true
          break
        }
        running.removeAll { $0.state != .running }
        if running.isEmpty { break }
      }
    }
  }

  private func sendTask(_ candidates: [SearchEngine.Proposal], of run: SearchRun, to worker: WorkerSession) {
    taskCounter += 1
    let taskID = "t\(taskCounter)-\(run.id)"
    let task = WorkerTask(
      taskID: taskID, searchID: run.id, scoring: run.scoring,
      candidates: candidates.map { TaskCandidate(key: $0.key, genotype: run.space.json(of: $0.genotype)) })
    if sendWorker(worker.identity, WorkerMessage(task)) {
      tasks[taskID] = TaskAssignment(id: taskID, searchID: run.id, worker: worker.identity, candidates: candidates, sentAt: Monotonic.milliseconds())
      worker.tasks.insert(taskID)
    } else {
      for p in candidates { run.inFlight.remove(p.key) }
      run.queue.insert(contentsOf: candidates, at: 0)
    }
  }

  // MARK: - Broker benchmark

  private func dispatchBench() {
    guard let bench else { return }
    let scorers = workers.values.filter(\.canScore)
    let depth = 1 + max(configuration.prefetch, 7)
    var sent = true
    while sent {
      sent = false
      for worker in scorers where worker.tasks.count < depth {
        guard bench.take() else { return }
        taskCounter += 1
        let taskID = "b\(taskCounter)"
        let task = WorkerTask(
          taskID: taskID, searchID: BrokerBench.searchID, scoring: ["noop": true],
          candidates: [TaskCandidate(key: "bench-\(taskCounter)", genotype: [:])])
        if sendWorker(worker.identity, WorkerMessage(task)) {
          tasks[taskID] = TaskAssignment(id: taskID, searchID: BrokerBench.searchID, worker: worker.identity, candidates: [], sentAt: 0)
          worker.tasks.insert(taskID)
          sent = true
        } else {
          bench.requeue(1)
        }
      }
    }
  }
}

/// `diswotd --bench-broker N`: N one-candidate TASKs through the real dispatch, sockets and
/// RESULT handling, to no-op workers; the store and the engine are not involved.
final class BrokerBench {
  static let searchID = "bench"
  let total: Int
  private(set) var sent = 0
  private(set) var done = 0
  private var start: Int?
  private var end: Int?

  init(total: Int) { self.total = total }

  var isFinished: Bool { done >= total }

  func take() -> Bool {
    guard sent < total else { return false }
    if start == nil { start = Monotonic.milliseconds() }
    sent += 1
    return true
  }

  func requeue(_ n: Int) { sent -= n }

  func received(_ n: Int) {
    done += 1
    if done >= total { end = Monotonic.milliseconds() }
  }

  func report() {
    let ms = max(1, (end ?? Monotonic.milliseconds()) - (start ?? 0))
    let rate = Double(done) / (Double(ms) / 1000)
    Log.info(String(format: "broker benchmark: %d tasks in %.3f s = %.0f tasks/s", done, Double(ms) / 1000, rate))
    print(JSONValue.object(["tasks": .int(done), "seconds": .double(Double(ms) / 1000), "tasks_per_second": .double(rate)]).compactText)
  }
}
