import DiswotJSON
import DiswotLog
import DiswotWire
import Foundation

/// `diswotd --bench-broker N`: N one-candidate no-op TASKs through the real sockets,
/// worker sessions, leases, task table and RESULT handling, to workers started with
/// `--noop`; the store and the engine are not involved. The daemon stops after the last
/// RESULT, once the rate is printed (standard output, one JSON line).
final class BrokerBench: TaskSource {
  /// The search id its tasks carry.
  static let searchID = "bench"
  let total: Int
  private(set) var sent = 0
  private(set) var done = 0
  private var start: Int?
  private var end: Int?

  init(total: Int) { self.total = total }

  var isFinished: Bool { done >= total }

  func hasWork(_ daemon: Daemon) -> Bool { true }

  /// Keeps every scoring worker 1 + max(prefetch, 7) tasks deep.
  func dispatch(_ daemon: Daemon) {
    let scorers = daemon.workers.values.filter(\.canScore)
    let depth = 1 + max(daemon.configuration.prefetch, 7)
    var sent = true
    while sent {
      sent = false
      for worker in scorers where worker.tasks.count < depth {
        guard take() else { return }
        daemon.taskCounter += 1
        let taskID = "b\(daemon.taskCounter)"
        let task = WorkerTask(
          taskID: taskID, searchID: Self.searchID, scoring: ["noop": true],
          candidates: [TaskCandidate(key: "bench-\(daemon.taskCounter)", genotype: [:])])
        if daemon.sendWorker(worker.identity, WorkerMessage(task)) {
          let lease = daemon.configuration.taskLeaseFloorMilliseconds
          daemon.tasks[taskID] = TaskAssignment(
            id: taskID, searchID: Self.searchID, worker: worker.identity, candidates: [], sequence: daemon.taskCounter,
            lease: lease, deadline: daemon.deadline(lease: lease, on: worker.identity, now: Monotonic.milliseconds()))
          worker.tasks.insert(taskID)
          sent = true
        } else {
          requeue(1)
        }
      }
    }
  }

  func received(_ result: TaskResult, searchID: String, outstanding: TaskAssignment?, from identity: [UInt8], daemon: Daemon) {
    guard let outstanding else { return }
    daemon.settle(outstanding, from: identity)
    received(result.results.count)
    if isFinished {
      report()
      daemon.stop()
    }
  }

  func takenBack(_ task: TaskAssignment, daemon: Daemon) { requeue(1) }

  private func take() -> Bool {
    guard sent < total else { return false }
    if start == nil { start = Monotonic.milliseconds() }
    sent += 1
    return true
  }

  private func requeue(_ n: Int) { sent -= n }

  private func received(_ n: Int) {
    done += 1
    if done >= total { end = Monotonic.milliseconds() }
  }

  private func report() {
    let ms = max(1, (end ?? Monotonic.milliseconds()) - (start ?? 0))
    let rate = Double(done) / (Double(ms) / 1000)
    Log.info(String(format: "broker benchmark: %d tasks in %.3f s = %.0f tasks/s", done, Double(ms) / 1000, rate))
    print(JSONValue.object(["tasks": .int(done), "seconds": .double(Double(ms) / 1000), "tasks_per_second": .double(rate)]).compactText)
  }
}
