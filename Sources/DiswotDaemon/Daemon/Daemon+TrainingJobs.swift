import DiswotJSON
import DiswotLog
import DiswotStore
import DiswotWire

// Training and teacher-ranking jobs on workers: queued jobs handed to idle workers that
// can run them (busy ones reserved), their PROGRESS saved and published, their DONE
// committed. A ranking is a job like training (durable, queryable, run off the event
// loop), sent as TEACHERS to workers announcing `teachers`.

extension Daemon {
  func handleProgress(_ identity: [UInt8], _ message: WorkerMessage) {
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
    publish(job.topic, event)
  }

  func handleDone(_ identity: [UInt8], _ message: WorkerMessage) {
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
      Log.info("\(job.label) \(job.id) finished: \(JSONValue.object(result).compactText)")
      publish(job.topic, ["event": "state", "state": "finished", "result": .object(result)])
    case .failure(let error) where error.code == .unavailable:
      guard job.state == .running else { return }
      Log.warning("\(job.label) \(job.id) interrupted on its worker (\(error.message)); queued again")
      job.state = .queued
      job.worker = nil
      job.notBefore = Monotonic.milliseconds() + heartbeat
      publish(job.topic, ["event": "state", "state": "queued"])
    case .failure(let error):
      jobs[job.id] = nil
      Log.error("\(job.label) \(job.id) failed: \(error.message)")
      publish(job.topic, ["event": "state", "state": "failed", "error": .string(error.message)])
    }
  }

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
      let candidates = workers.values.filter { (job.isRanking ? $0.canRank : $0.canTrain) && $0.job == nil }
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
    let message: WorkerMessage
    do {
      if let teachers = job.document.teachers {
        message = WorkerMessage(TeachersJob(jobID: job.id, spec: try JSONCoding.object(teachers)))
      } else {
        message = WorkerMessage(TrainJob(jobID: job.id, spec: try JSONCoding.object(job.document.spec), directory: job.directory))
      }
    } catch {
      failJob(job, "\(error)")
      return
    }
    // Committed first: a TRAIN whose "running" the store never saw must not go out.
    do { try store.updateJob(job.id, state: .running) } catch {
      storeFailed("mark job \(job.id) running", error)
      return
    }
    job.attempts += 1
    guard sendWorker(worker.identity, message) else {
      // The worker is gone; the job stays queued (a restart would queue it too).
      return
    }
    worker.job = job.id
    worker.reservedForJob = false
    job.state = .running
    job.worker = worker.identity
    Log.info("\(job.label) \(job.id) → worker \(worker.displayID) (attempt \(job.attempts))")
    publish(job.topic, ["event": "state", "state": "running", "worker": .string(worker.displayID)])
  }

  /// Fails a queued job for good (its failure committed first).
  private func failJob(_ job: JobRun, _ reason: String) {
    do { try store.updateJob(job.id, state: .failed, error: reason) } catch {
      storeFailed("mark job \(job.id) failed", error)
      return
    }
    jobs[job.id] = nil
    Log.error("\(job.label) \(job.id) failed: \(reason)")
    publish(job.topic, ["event": "state", "state": "failed", "error": .string(reason)])
  }
}
