import DiswotSearch
import DiswotWire

// Dispatch of the searches' candidates: every scoring worker's slots filled with TASKs,
// the running searches visited in turn, the engines given a bounded share of each turn.

extension Daemon {
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
    // A worker that cannot be sent to (killed, not yet known to be gone) gets nothing more
    // this turn: its candidates went back to the queue, and handing them to it again would
    // spin this loop for ever (the daemon stopped answering once, at a worker's kill -9).
    var unreachable = Set<[UInt8]>()
    while progress, !running.isEmpty {
      progress = false
      for worker in scorers.sorted(by: { $0.tasks.count < $1.tasks.count })
      where worker.tasks.count < depth && !unreachable.contains(worker.identity) {
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
          if sendTask(candidates, of: run, to: worker) {
            progress = true
          } else {
            unreachable.insert(worker.identity)
          }
          break
        }
        running.removeAll { $0.state != .running }
        if running.isEmpty { break }
      }
    }
  }

  /// Sends a TASK and records it, or puts the candidates back in front of the queue and
  /// returns false when the worker cannot be reached.
  private func sendTask(_ candidates: [SearchEngine.Proposal], of run: SearchRun, to worker: WorkerSession) -> Bool {
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
      return true
    }
    for p in candidates { run.inFlight.remove(p.key) }
    run.queue.insert(contentsOf: candidates, at: 0)
    return false
  }
}
