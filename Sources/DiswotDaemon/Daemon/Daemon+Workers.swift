import DiswotLog
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
    case .progress:
      if message.body["task_id"] != nil {
        if let progress = try? message.decode(TaskProgress.self) { renewLease(progress.taskID, from: identity, now: now) }
      } else {
        handleProgress(identity, message)
      }
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
    guard let worker = workers[identity] else { return }
    if let jobID = worker.job, let job = jobs[jobID], job.worker == identity {
      do { try store.updateJob(jobID, state: .queued) } catch {
        storeFailed("put job \(jobID) back in the queue", error)
        return
      }
      job.state = .queued
      job.worker = nil
      job.notBefore = Monotonic.milliseconds() + heartbeat * (configuration.liveness + 1)
      publish(EventTopic.train(jobID), ["event": "state", "state": "queued"])
    }
    workers[identity] = nil
    Log.warning("worker \(worker.displayID) left (\(reason)); re-queueing \(worker.tasks.count) task\(worker.tasks.count == 1 ? "" : "s")\(worker.job.map { " and job \($0)" } ?? "")")
    for taskID in worker.tasks { requeueTask(taskID) }
    publish(EventTopic.workers, ["event": "left", "id": .string(worker.displayID)])
    dispatchNeeded = true
  }

  /// Takes a TASK back: out of the task table (a late RESULT for it is still recognised),
  /// and back to its source (`TaskSource.takenBack`).
  func requeueTask(_ taskID: String) {
    guard let task = tasks.removeValue(forKey: taskID) else { return }
    retiredTasks[taskID] = task.searchID
    retiredOrder.append(taskID)
    if retiredOrder.count > 20_000 {
      for old in retiredOrder.prefix(10_000) { retiredTasks[old] = nil }
      retiredOrder.removeFirst(10_000)
    }
    taskSource.takenBack(task, daemon: self)
  }

  /// A search's TASK taken back: its unscored candidates are dispatched again (first in line).
  func requeueCandidates(of task: TaskAssignment) {
    guard let run = searches[task.searchID] else { return }
    let back = task.candidates.filter { p in run.engine.pending.contains { $0.key == p.key } }
    for p in task.candidates { run.inFlight.remove(p.key) }
    run.queue.insert(contentsOf: back, at: 0)
  }

  // MARK: - Results

  private func handleResult(_ identity: [UInt8], _ message: WorkerMessage) {
    defer { if workers[identity] == nil { disconnectUnknown(identity) } }
    if let reason = workers[identity]?.quarantined {
      Log.debug("RESULT from quarantined worker \(WorkerSession.display(identity)) ignored (\(reason))")
      return
    }
    let result: TaskResult
    do {
      result = try message.decode(TaskResult.self)
    } catch {
      refuseResult(message.body["task_id"]?.stringValue, from: identity, error.message)
      return
    }
    // Only the worker a task was sent to answers it while it is out.
    let outstanding = tasks[result.taskID].flatMap { $0.worker == identity ? $0 : nil }
    let searchID: String
    if let outstanding {
      searchID = outstanding.searchID
    } else if let retired = retiredTasks[result.taskID] {
      searchID = retired  // a late RESULT: still good for candidates nobody has scored
    } else {
      Log.debug("RESULT for unknown task \(result.taskID) ignored")
      return
    }
    taskSource.received(result, searchID: searchID, outstanding: outstanding, from: identity, daemon: self)
  }

  /// A RESULT for a search's TASK (see `TaskSource.received`): checked, then recorded.
  func handleSearchResult(_ result: TaskResult, searchID: String, outstanding: TaskAssignment?, from identity: [UInt8]) {
    guard let run = searches[searchID] else {  // cancelled or finished meanwhile
      if let outstanding { settle(outstanding, from: identity) }
      return
    }
    let expected = outstanding.map { Set($0.candidates.map(\.key)) }
    if let reason = ResultCheck.refusal(of: result, expected: expected, proxies: run.document.scoring.proxies.map(\.rawValue)) {
      refuseResult(result.taskID, from: identity, reason)
      return
    }
    if let outstanding { settle(outstanding, from: identity) }
    if let error = result.error {
      // The whole task failed on the worker: every candidate of it did.
      let keys = Set((outstanding?.candidates ?? []).map(\.key)).subtracting(result.results.map(\.key))
      let failed = keys.sorted().map { CandidateResult(key: $0, scores: [:], seconds: 0, error: error) }
      record(result.results + failed, of: outstanding, in: run, from: identity)
    } else {
      record(result.results, of: outstanding, in: run, from: identity)
    }
  }

  /// A task answered by its worker: no longer out, and the next one on that worker starts.
  func settle(_ task: TaskAssignment, from identity: [UInt8]) {
    tasks[task.id] = nil
    workers[identity]?.tasks.remove(task.id)
    workers[identity]?.tasksDone += 1
    renewLeases(of: identity, after: task.sequence, now: Monotonic.milliseconds())
    dispatchNeeded = true
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
    var engine = run.engine
    var arrivedRecords = run.arrivedRecords, arrivedUnscorable = run.arrivedUnscorable
    // Applying a score may make the engine look for the next candidate: within the turn's
    // engine time, carried on by the next dispatch when it runs out (`isHunting`).
    let engineDeadline = Monotonic.milliseconds() + Self.engineSliceMilliseconds
    let pastDeadline = { Monotonic.milliseconds() >= engineDeadline }
    var recorded: [(EvaluationRecord, Int)] = []
    var unscorable: [UnscorableRecord] = []
    var retry: [SearchEngine.Proposal] = []
    var failure: String?
    var answered: Set<String> = []
    let worker = WorkerSession.display(identity)
    do {
      try store.transaction {
        // The engine applies outcomes in proposal order: store every evaluation and every
        // unscorable candidate it applied since the last call, in that order, so the
        // tables are the engine's history and unscorable list.
        var appliedHistory = engine.history.count, appliedUnscorable = engine.unscorable.count
        func storeApplied() throws {
          for evaluation in engine.history[appliedHistory...] {
            guard let row = arrivedRecords.removeValue(forKey: evaluation.key), try store.recordEvaluation(row, engineJSON: nil) else {
              throw WireError(.internal, "evaluation \(evaluation.index) (\(evaluation.key)) of search \(run.id) has no row to store, or is stored already")
            }
            recorded.append((row, evaluation.index))
          }
          for candidate in engine.unscorable[appliedUnscorable...] {
            guard let row = arrivedUnscorable.removeValue(forKey: candidate.key), try store.recordUnscorable(row) else {
              throw WireError(.internal, "unscorable \(candidate.key) of search \(run.id) has no row to store, or is stored already")
            }
            unscorable.append(row)
          }
          appliedHistory = engine.history.count
          appliedUnscorable = engine.unscorable.count
        }
        func markUnscorable(_ proposal: SearchEngine.Proposal, _ reason: String) throws {
          guard engine.recordUnscorable(
            key: proposal.key, reason: reason, space: run.space, yieldingWhen: pastDeadline, isFeasible: run.costs.isFeasible)
          else { return }
          arrivedUnscorable[proposal.key] = UnscorableRecord(
            searchID: run.id, key: proposal.key, archJSON: run.space.json(of: proposal.genotype).compactText, reason: reason,
            worker: worker)
          try storeApplied()
        }
        for r in results {
          answered.insert(r.key)  // only the task's candidates, once each (`ResultCheck`)
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
          guard engine.record(key: r.key, score: objective, space: run.space, yieldingWhen: pastDeadline, isFeasible: run.costs.isFeasible)
          else { continue }
          arrivedRecords[r.key] = EvaluationRecord(
            searchID: run.id, key: r.key, archJSON: run.space.json(of: proposal.genotype).compactText,
            scoresJSON: JSONValue.object(r.scores.mapValues { $0.isFinite ? .double($0) : .null }).compactText,
            params: r.params ?? 0, macs: r.macs ?? 0, score: objective, worker: worker,
            seconds: r.seconds.isFinite ? r.seconds : 0)
          try storeApplied()
        }
        if !recorded.isEmpty || !unscorable.isEmpty {
          try store.saveEngine(run.id, engineJSON: try EngineCheckpoint.encode(engine))
        }
      }
    } catch {
      storeFailed("record the results of search \(run.id)", error)
      return
    }
    let bestBefore = run.engine.best
    run.engine = engine
    run.arrivedRecords = arrivedRecords
    run.arrivedUnscorable = arrivedUnscorable
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
    do {
      if let failure {
        try endSearch(run, state: .failed, error: failure)
      } else if run.state == .running, run.isDrained {
        try finishSearch(run)
      }
    } catch {
      storeFailed("save the end of search \(run.id)", error)
    }
  }

  /// Ends a search that has nothing left to do: finished, or failed without a single
  /// finite score (`SearchEngine.failure`: the constraints admitted no architecture, or
  /// every candidate was unscorable).
  func finishSearch(_ run: SearchRun) throws {
    try endSearch(run, state: run.engine.failure == nil ? .finished : .failed, error: run.engine.failure)
  }

  /// Takes a search out of the loop in a terminal state: the engine checkpoint and the
  /// state committed together, then its TASKs cancelled on the workers. When the commit
  /// fails nothing changes (the error is the caller's to report).
  func endSearch(_ run: SearchRun, state: SearchState, error: String?) throws {
    try store.transaction {
      try store.saveEngine(run.id, engineJSON: try EngineCheckpoint.encode(run.engine))
      try store.setSearchState(run.id, state, error: error)
    }
    for (taskID, task) in tasks where task.searchID == run.id {
      tasks[taskID] = nil
      workers[task.worker]?.tasks.remove(taskID)
      sendWorker(task.worker, WorkerMessage(WorkerCancel(taskID: taskID)))
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
      do { try store.updateJob(job.id, progressJSON: JSONValue.object(progress.progress).compactText) } catch {
        storeFailed("save the progress of job \(job.id)", error)
        return
      }
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
    guard job.worker == identity || (job.state == .queued && job.worker == nil) else {
      if let worker = workers[identity], worker.job == job.id { worker.job = nil }
      dispatchNeeded = true
      return
    }
    // The job's new state is committed before anything in memory changes.
    do {
      switch done.outcome {
      case .success(let result):
        try store.updateJob(
          job.id, state: .finished, progressJSON: job.progress.map { JSONValue.object($0).compactText },
          resultJSON: JSONValue.object(result).compactText)
      case .failure(let error) where error.code == .unavailable:
        guard job.state == .running else { break }
        try store.updateJob(job.id, state: .queued)
      case .failure(let error):
        try store.updateJob(job.id, state: .failed, error: error.message)
      }
    } catch {
      storeFailed("save how job \(job.id) ended", error)
      return
    }
    if let worker = workers[identity], worker.job == job.id { worker.job = nil }
    dispatchNeeded = true
    switch done.outcome {
    case .success(let result):
      jobs[job.id] = nil
      Log.info("training job \(job.id) finished: \(JSONValue.object(result).compactText)")
      publish(EventTopic.train(job.id), ["event": "state", "state": "finished", "result": .object(result)])
    case .failure(let error) where error.code == .unavailable:
      guard job.state == .running else { return }
      Log.warning("training job \(job.id) interrupted on its worker (\(error.message)); queued again")
      job.state = .queued
      job.worker = nil
      job.notBefore = Monotonic.milliseconds() + heartbeat
      publish(EventTopic.train(job.id), ["event": "state", "state": "queued"])
    case .failure(let error):
      jobs[job.id] = nil
      Log.error("training job \(job.id) failed: \(error.message)")
      publish(EventTopic.train(job.id), ["event": "state", "state": "failed", "error": .string(error.message)])
    }
  }

  // MARK: - Dispatch

  /// Hands queued training jobs to idle training workers (reserving busy ones until they
  /// are idle); `dispatchTasks` then fills every scoring worker's slots (`SearchesAndJobs`).
  func dispatchJobs() {
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
    if job.attempts >= configuration.jobAttempts {
      failJob(job, "gave up after \(configuration.jobAttempts) attempts on workers that went away")
      return
    }
    let spec: [String: JSONValue]
    do { spec = try JSONCoding.object(job.document.spec) } catch {
      failJob(job, "\(error)")
      return
    }
    // Committed first: a TRAIN whose "running" the store never saw must not go out.
    do { try store.updateJob(job.id, state: .running) } catch {
      storeFailed("mark job \(job.id) running", error)
      return
    }
    job.attempts += 1
    guard sendWorker(worker.identity, WorkerMessage(TrainJob(jobID: job.id, spec: spec, directory: job.directory))) else {
      // The worker is gone; the job stays queued (a restart would queue it too).
      return
    }
    worker.job = job.id
    worker.reservedForJob = false
    job.state = .running
    job.worker = worker.identity
    Log.info("training job \(job.id) → worker \(worker.displayID) (attempt \(job.attempts))")
    publish(EventTopic.train(job.id), ["event": "state", "state": "running", "worker": .string(worker.displayID)])
  }

  /// Fails a queued job for good (its failure committed first).
  private func failJob(_ job: JobRun, _ reason: String) {
    do { try store.updateJob(job.id, state: .failed, error: reason) } catch {
      storeFailed("mark job \(job.id) failed", error)
      return
    }
    jobs[job.id] = nil
    Log.error("training job \(job.id) failed: \(reason)")
    publish(EventTopic.train(job.id), ["event": "state", "state": "failed", "error": .string(reason)])
  }

  /// How long the search engines may work per turn of the event loop, in milliseconds.
  static let engineSliceMilliseconds = 50

  /// Fills every scoring worker's slots with candidates, visiting the running searches in turn.
  func dispatchTasks() {
    // Each turn another search goes first, so that one whose engine needs long to find a
    // candidate does not take every turn's engine time (or every free worker).
    if searchOrder.count > 1 { searchOrder.append(searchOrder.removeFirst()) }
    var running = searchOrder.compactMap { searches[$0] }.filter { $0.state == .running }
    guard !running.isEmpty else { return }
    let scorers = workers.values.filter { $0.canScore && $0.job == nil && !$0.reservedForJob }
    let depth = 1 + configuration.prefetch
    let slots = max(1, scorers.count * depth)
    // The engines' share of this turn of the loop: a search whose next candidate takes
    // longer to find (many infeasible samples) goes on in the next turns, after the loop
    // has answered clients and workers (`SearchEngine.propose`, `isHunting`).
    let engineDeadline = Monotonic.milliseconds() + Self.engineSliceMilliseconds
    let pastDeadline = { Monotonic.milliseconds() >= engineDeadline }
    defer { if running.contains(where: { $0.engine.isHunting }) { dispatchNeeded = true } }
    var cursor = 0
    var progress = true
    while progress, !running.isEmpty {
      progress = false
      for worker in scorers.sorted(by: { $0.tasks.count < $1.tasks.count }) where worker.tasks.count < depth {
        for _ in 0..<running.count {
          let run = running[cursor % running.count]
          cursor += 1
          guard run.state == .running else { continue }
          let remaining = run.queue.count + run.engine.pending.count - run.engine.handedOut
            + max(0, run.engine.configuration.budget - run.engine.spent)
          // At most the window is out at once: share it among the task slots.
          let share = (run.engine.configuration.window + slots - 1) / slots
          let size = max(1, min(configuration.maxCandidatesPerTask, (remaining + slots - 1) / slots, share))
          // Proposing is not checkpointed on its own: the next evaluation's checkpoint
          // carries the new pending proposals, and after a crash before it the restored
          // engine (same generator state, same history) proposes the same candidates again.
          let (candidates, _) = run.take(size, yieldingWhen: pastDeadline)
          if candidates.isEmpty {
            // Nothing queued, nothing out and nothing new (nor being looked for): the search is over.
            if run.queue.isEmpty && run.inFlight.isEmpty && !run.engine.isHunting {
              do { try finishSearch(run) } catch {
                storeFailed("save the end of search \(run.id)", error)
                return
              }
            }
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
    let lease = lease(for: candidates, of: run)
    let deadline = deadline(lease: lease, on: worker.identity, now: Monotonic.milliseconds())
    if sendWorker(worker.identity, WorkerMessage(task)) {
      tasks[taskID] = TaskAssignment(
        id: taskID, searchID: run.id, worker: worker.identity, candidates: candidates, sequence: taskCounter, lease: lease, deadline: deadline)
      worker.tasks.insert(taskID)
    } else {
      for p in candidates { run.inFlight.remove(p.key) }
      run.queue.insert(contentsOf: candidates, at: 0)
    }
  }
}
