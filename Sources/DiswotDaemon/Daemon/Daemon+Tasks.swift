import DiswotLog
import DiswotWire

// The task table: a RESULT matched to the TASK it answers (only from the worker the task
// was sent to while it is out; a late one for a task taken back is still recognised) and
// handed to its `TaskSource`; a task settled or taken back.

extension Daemon {
  /// A RESULT from a worker: ignored from a quarantined worker or for an unknown task,
  /// refused when it does not decode, otherwise handed to the task source.
  func handleResult(_ identity: [UInt8], _ message: WorkerMessage) {
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

  /// A task answered by its worker: no longer out, and the next one on that worker starts.
  func settle(_ task: TaskAssignment, from identity: [UInt8]) {
    tasks[task.id] = nil
    workers[identity]?.tasks.remove(task.id)
    workers[identity]?.tasksDone += 1
    renewLeases(of: identity, after: task.sequence, now: Monotonic.milliseconds())
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
}
