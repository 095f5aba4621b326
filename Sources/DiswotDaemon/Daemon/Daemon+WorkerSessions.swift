import DiswotJSON
import DiswotLog
import DiswotStore
import DiswotWire

// Worker sessions: each message from the worker ROUTER routed by command, a worker's
// READY (a session), and its removal (its tasks and training job given back). Heartbeats
// and liveness run from the tick (`Daemon.tick`), leases in `Daemon+Leases`.

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
    case .task, .train, .teachers, .cancel:
      Log.debug("worker \(WorkerSession.display(identity)) sent \(message.command.rawValue), which only the daemon sends")
    }
  }

  func disconnectUnknown(_ identity: [UInt8]) {
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
      publish(job.topic, ["event": "state", "state": "queued"])
    }
    workers[identity] = nil
    Log.warning("worker \(worker.displayID) left (\(reason)); re-queueing \(worker.tasks.count) task\(worker.tasks.count == 1 ? "" : "s")\(worker.job.map { " and job \($0)" } ?? "")")
    for taskID in worker.tasks { requeueTask(taskID) }
    publish(EventTopic.workers, ["event": "left", "id": .string(worker.displayID)])
    dispatchNeeded = true
  }
}
