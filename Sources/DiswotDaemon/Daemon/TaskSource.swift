import DiswotWire

/// Where the daemon's TASKs come from and where their answers go: the seam between the
/// loop (sockets, worker sessions, leases and the task table: `Daemon+WorkerSessions`,
/// `Daemon+Leases`, `Daemon+Tasks`) and what
/// the tasks are for. `diswotd` serves its searches and training jobs (`SearchesAndJobs`);
/// `diswotd --bench-broker N` puts `BrokerBench` in their place (N no-op TASKs, nothing
/// stored), so the production path holds no benchmark branches.
///
/// Like everything of the daemon, a source is used on the daemon's thread only.
protocol TaskSource {
  /// Whether to dispatch at the next tick even if nothing arrives (work may be waiting).
  func hasWork(_ daemon: Daemon) -> Bool
  /// Fills the workers' free slots (called when `dispatchNeeded`).
  func dispatch(_ daemon: Daemon)
  /// A RESULT for a task of this source, checked to come from the worker it was sent to
  /// (`outstanding`, still in the task table: settle it with `Daemon.settle`) or a late
  /// one for a task taken back meanwhile (`outstanding` nil); `searchID` is the task's.
  func received(_ result: TaskResult, searchID: String, outstanding: TaskAssignment?, from identity: [UInt8], daemon: Daemon)
  /// A task taken back from its worker (lost, lease expired, RESULT refused, quarantined),
  /// already out of the task table.
  func takenBack(_ task: TaskAssignment, daemon: Daemon)
}

/// The production source: the daemon's searches (candidates on TASKs, results recorded
/// with the engine checkpoint) and training jobs.
struct SearchesAndJobs: TaskSource {
  func hasWork(_ daemon: Daemon) -> Bool {
    daemon.jobs.values.contains(where: { $0.state == .queued }) || !daemon.searches.isEmpty
  }

  func dispatch(_ daemon: Daemon) {
    daemon.dispatchJobs()
    daemon.dispatchTasks()
  }

  func received(_ result: TaskResult, searchID: String, outstanding: TaskAssignment?, from identity: [UInt8], daemon: Daemon) {
    daemon.handleSearchResult(result, searchID: searchID, outstanding: outstanding, from: identity)
  }

  func takenBack(_ task: TaskAssignment, daemon: Daemon) {
    daemon.requeueCandidates(of: task)
  }
}
