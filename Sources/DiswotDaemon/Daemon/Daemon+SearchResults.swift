import DiswotJSON
import DiswotLog
import DiswotSearch
import DiswotStore
import DiswotWire

// A search's RESULTs: checked, recorded in one transaction with the engine checkpoint,
// published; candidates of a task taken back re-queued; the search ended when it is done.

extension Daemon {
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
    // The engine is changed in place: a copy to roll back to would duplicate the whole
    // history on every RESULT, and a store failure stops the daemon anyway (the store,
    // not memory, is what a restart resumes from).
    let bestBefore = run.engine.best
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
        var appliedHistory = run.engine.history.count, appliedUnscorable = run.engine.unscorable.count
        func storeApplied() throws {
          for evaluation in run.engine.history[appliedHistory...] {
            guard let row = arrivedRecords.removeValue(forKey: evaluation.key), try store.recordEvaluation(row, engineJSON: nil) else {
              throw WireError(.internal, "evaluation \(evaluation.index) (\(evaluation.key)) of search \(run.id) has no row to store, or is stored already")
            }
            recorded.append((row, evaluation.index))
          }
          for candidate in run.engine.unscorable[appliedUnscorable...] {
            guard let row = arrivedUnscorable.removeValue(forKey: candidate.key), try store.recordUnscorable(row) else {
              throw WireError(.internal, "unscorable \(candidate.key) of search \(run.id) has no row to store, or is stored already")
            }
            unscorable.append(row)
          }
          appliedHistory = run.engine.history.count
          appliedUnscorable = run.engine.unscorable.count
        }
        func markUnscorable(_ proposal: SearchEngine.Proposal, _ reason: String) throws {
          guard run.engine.recordUnscorable(
            key: proposal.key, reason: reason, space: run.space, yieldingWhen: pastDeadline, isFeasible: run.costs.isFeasible)
          else { return }
          arrivedUnscorable[proposal.key] = UnscorableRecord(
            searchID: run.id, key: proposal.key, archJSON: run.space.json(of: proposal.genotype).compactText, reason: reason,
            worker: worker)
          try storeApplied()
        }
        for r in results {
          answered.insert(r.key)  // only the task's candidates, once each (`ResultCheck`)
          guard let proposal = run.engine.pending.first(where: { $0.key == r.key }) else { continue }
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
            // A worker that answers null may be the broken one: the candidate goes back
            // to the queue for another try (any worker), and is unscorable only when
            // `candidateAttempts` answers agree.
            let failures = (run.failures[r.key] ?? 0) + 1
            run.failures[r.key] = failures
            if failures < configuration.candidateAttempts {
              Log.warning("worker \(worker) found \(r.key) unscorable (attempt \(failures)): \(reason); trying again")
              retry.append(proposal)
            } else {
              try markUnscorable(proposal, reason)
            }
            continue
          }
          let objective = run.sign * r.scores[run.proxy.rawValue]!
          guard run.engine.record(key: r.key, score: objective, space: run.space, yieldingWhen: pastDeadline, isFeasible: run.costs.isFeasible)
          else { continue }
          arrivedRecords[r.key] = EvaluationRecord(
            searchID: run.id, key: r.key, archJSON: run.space.json(of: proposal.genotype).compactText,
            scoresJSON: JSONValue.object(r.scores.mapValues { $0.isFinite ? .double($0) : .null }).compactText,
            params: r.params ?? 0, macs: r.macs ?? 0, score: objective, worker: worker,
            seconds: r.seconds.isFinite ? r.seconds : 0)
          try storeApplied()
        }
        if !recorded.isEmpty || !unscorable.isEmpty {
          try store.saveEngine(run.id, engineJSON: try EngineCheckpoint.encode(run.engine))
        }
      }
    } catch {
      storeFailed("record the results of search \(run.id)", error)
      return
    }
    run.arrivedRecords = arrivedRecords
    run.arrivedUnscorable = arrivedUnscorable
    run.evaluations += recorded.count
    if let assignment {
      for p in assignment.candidates {
        run.inFlight.remove(p.key)
        if !answered.contains(p.key), run.engine.pending.contains(where: { $0.key == p.key }) { retry.append(p) }
      }
    } else {
      // A late result: drop the keys it settled from the queue.
      let settled = Set(recorded.map { $0.0.key } + unscorable.map(\.key))
      run.queue.removeAll { settled.contains($0.key) }
    }
    run.queue.insert(contentsOf: retry, at: 0)
    for (evaluation, index) in recorded {
      let best = run.engine.best
      publish(EventTopic.search(run.id), [
        "event": "evaluated", "key": .string(evaluation.key), "score": .double(run.sign * evaluation.score),
        "index": .int(index), "evaluations": .int(run.evaluations), "budget": .int(run.engine.configuration.budget),
        "best_key": best.map { .string($0.key) } ?? .null, "best_score": best.map { .double(run.sign * $0.score) } ?? .null,
      ])
    }
    for row in unscorable {
      Log.warning("search \(run.id): \(row.key) is unscorable: \(row.reason)")
      publish(EventTopic.search(run.id), [
        "event": "unscorable", "key": .string(row.key), "reason": .string(row.reason),
        "unscorable": .int(run.engine.unscorable.count), "budget": .int(run.engine.configuration.budget),
      ])
    }
    if let best = run.engine.best, best.key != bestBefore?.key {
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

  /// A search's TASK taken back: its unscored candidates are dispatched again (first in line).
  func requeueCandidates(of task: TaskAssignment) {
    guard let run = searches[task.searchID] else { return }
    let back = task.candidates.filter { p in run.engine.pending.contains { $0.key == p.key } }
    for p in task.candidates { run.inFlight.remove(p.key) }
    run.queue.insert(contentsOf: back, at: 0)
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
}
