import DiswotLog
import DiswotScoring
import DiswotSearch
import DiswotWire

// Leases and worker trust. A worker that keeps heartbeating but never answers a TASK (one
// that is stuck, or that dropped it) would hold its candidates forever: every TASK gets a
// lease, a deadline derived from what its candidates cost, renewed by the worker's
// PROGRESS; when it passes, the daemon takes the task back. A worker whose leases expire
// or whose RESULTs are refused gets strikes, and enough strikes quarantine it.

extension Daemon {
  /// A TASK's lease, in milliseconds: the floor, plus its work (per candidate: MACs for one
  /// image × probe batch × repeats × probes × proxies measured) at
  /// `WireProtocol.taskLeaseMillisecondsPerGigaMAC`.
  func lease(for candidates: [SearchEngine.Proposal], of run: SearchRun) -> Int {
    let spec = run.document.scoring
    let measured = spec.proxies.count + (spec.proxies.contains(.ensemble) ? Proxy.ensembleComponents.count : 0)
    let macs = candidates.reduce(0.0) { $0 + Double(run.costs.costs(of: $1.genotype)?.macs ?? 0) }
    let work = macs * Double(spec.batch * spec.repeats * spec.probes * measured)
    let extra = min(work / 1e9 * Double(WireProtocol.taskLeaseMillisecondsPerGigaMAC), 1e10)
    return configuration.taskLeaseFloorMilliseconds + Int(extra)
  }

  /// When a TASK sent now to `worker` must be answered: a worker computes its TASKs in the
  /// order they came, so the lease starts when the ones before it end at the latest.
  func deadline(lease: Int, on worker: [UInt8], now: Int) -> Int {
    max(now, tasks.values.filter { $0.worker == worker }.map(\.deadline).max() ?? now) + lease
  }

  /// A PROGRESS of a task: its lease starts again, and so do those queued behind it.
  func renewLease(_ taskID: String, from identity: [UInt8], now: Int) {
    guard let task = tasks[taskID], task.worker == identity else { return }
    extendLeases(of: identity, from: task.sequence, after: now)
  }

  /// A RESULT of the task numbered `sequence`: the worker now computes the next one.
  func renewLeases(of identity: [UInt8], after sequence: Int, now: Int) {
    extendLeases(of: identity, from: sequence + 1, after: now)
  }

  /// The tasks of `worker` from `sequence` on, in order, each given at least its lease
  /// after the one before it ends (a lease is only ever extended).
  private func extendLeases(of worker: [UInt8], from sequence: Int, after start: Int) {
    var end = start
    for var task in tasks.values.filter({ $0.worker == worker && $0.sequence >= sequence }).sorted(by: { $0.sequence < $1.sequence }) {
      end = max(task.deadline, end + task.lease)
      task.deadline = end
      tasks[task.id] = task
    }
  }

  /// Takes back the tasks whose lease has passed: all of that worker's tasks (it computes
  /// them in order, so the ones behind an expired one wait on it), a CANCEL for each, their
  /// candidates re-queued for any worker, and a strike for the worker. A late RESULT still
  /// counts for candidates nobody has scored meanwhile (each is recorded once).
  func expireLeases(now: Int) {
    let expired = tasks.values.filter { $0.deadline <= now }.sorted { $0.sequence < $1.sequence }
    var seen = Set<[UInt8]>()
    for task in expired where seen.insert(task.worker).inserted && tasks[task.id] != nil {
      let worker = WorkerSession.display(task.worker)
      let held = tasks.values.filter { $0.worker == task.worker }.sorted { $0.sequence < $1.sequence }
      Log.warning("task \(task.id) on worker \(worker): no RESULT or PROGRESS within its lease of \(task.lease) ms; re-queueing \(held.count) task\(held.count == 1 ? "" : "s")")
      for t in held { takeBack(t.id, cancel: true) }
      if let run = searches[task.searchID] { leaseExpired(task.candidates, in: run, on: worker) }
      strike(task.worker, "the lease of task \(task.id) expired")
    }
  }

  /// Counts the worker against each candidate of an expired task. A candidate whose lease
  /// expired on `candidateAttempts` different workers is what hangs them: its search fails.
  private func leaseExpired(_ candidates: [SearchEngine.Proposal], in run: SearchRun, on worker: String) {
    for p in candidates where run.engine.pending.contains(where: { $0.key == p.key }) {
      run.expiredOn[p.key, default: []].insert(worker)
      guard let workers = run.expiredOn[p.key], workers.count >= configuration.candidateAttempts else { continue }
      do {
        try endSearch(
          run, state: .failed,
          error: "candidate \(p.key) outlived its lease on \(workers.count) workers (\(workers.sorted().joined(separator: ", ")))")
      } catch {
        storeFailed("save the end of search \(run.id)", error)
      }
      return
    }
  }

  /// Takes a task away from its worker (a CANCEL when it may still be computing it) and
  /// re-queues its candidates.
  func takeBack(_ taskID: String, cancel: Bool) {
    guard let task = tasks[taskID] else { return }
    if cancel { sendWorker(task.worker, WorkerMessage(WorkerCancel(taskID: taskID))) }
    workers[task.worker]?.tasks.remove(taskID)
    requeueTask(taskID)
  }

  /// A RESULT the daemon does not believe: nothing of it is stored, the task's candidates
  /// go back to the queue, the worker gets a strike.
  func refuseResult(_ taskID: String?, from identity: [UInt8], _ reason: String) {
    Log.warning("refused a RESULT from worker \(WorkerSession.display(identity))\(taskID.map { " for task \($0)" } ?? ""): \(reason)")
    if let taskID, tasks[taskID]?.worker == identity { takeBack(taskID, cancel: false) }
    strike(identity, "refused RESULT: \(reason)")
  }

  /// One more strike; at `WireProtocol.quarantineStrikes` the worker is quarantined: it
  /// keeps its connection (and any training job it runs) but gets no more TASKs or TRAIN
  /// jobs, and its RESULTs are ignored, until it reconnects as a new worker.
  func strike(_ identity: [UInt8], _ reason: String) {
    guard let worker = workers[identity], worker.quarantined == nil else { return }
    worker.strikes += 1
    guard worker.strikes >= WireProtocol.quarantineStrikes else { return }
    worker.quarantined = "\(worker.strikes) strikes, the last: \(reason)"
    Log.warning("worker \(worker.displayID) quarantined after \(worker.strikes) strikes (the last: \(reason)); it gets no more work")
    for taskID in worker.tasks { takeBack(taskID, cancel: true) }
    worker.reservedForJob = false
    publish(EventTopic.workers, ["event": "quarantined", "id": .string(worker.displayID), "reason": .string(reason)])
    dispatchNeeded = true
  }
}
