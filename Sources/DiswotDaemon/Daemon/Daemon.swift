import DiswotLog
import DiswotFiles
import DiswotJSON
import DiswotModels
import DiswotSearch
import DiswotStore
import DiswotWire
import Foundation

/// `diswotd`: one thread, one loop. It polls the client ROUTER and the worker ROUTER,
/// answers requests, feeds each search's candidates to idle workers, records results in
/// the store (each evaluation committed with the engine checkpoint that counts it),
/// publishes events on the PUB socket and, on every tick, heartbeats workers, declares
/// silent ones dead (their tasks go back to the queue) and restarts local workers.
///
/// Everything the daemon promises survives `kill -9`: after a restart it reloads every
/// running or paused search from its engine checkpoint (re-dispatching the proposals that
/// were out, since nothing was stored for them) and every queued or running training job
/// (a worker resumes it from its run directory's last checkpoint).
///
/// The store, the sockets and all state belong to the thread that calls `run()`.
public final class Daemon {
  public let configuration: DaemonConfiguration
  let context: ZMQContext
  private var zap: ZAPHandler?
  let clientSocket: ZMQSocket
  let workerSocket: ZMQSocket
  let eventSocket: ZMQSocket
  /// The bound endpoints, ports resolved (`tcp://127.0.0.1:*` → the port chosen).
  public let clientEndpoint: String
  public let workerEndpoint: String
  public let eventEndpoint: String
  /// The state directory, canonical.
  public let stateDirectory: String
  let jobsDirectory: String
  /// Held from start to exit: one daemon per state directory.
  private let stateLock: StateDirectoryLock
  let store: Store
  let dataRoot: DataRoot
  let serverKey: CurveKeyPair?
  /// The secret certificate local workers authenticate with (CURVE only).
  private var localWorkerKeyFile: String?

  /// Running and paused searches, and the order dispatch visits them in.
  var searches: [String: SearchRun] = [:]
  var searchOrder: [String] = []
  /// Queued and running training jobs.
  var jobs: [String: JobRun] = [:]
  var workers: [[UInt8]: WorkerSession] = [:]
  /// TASKs out on workers, by task id.
  var tasks: [String: TaskAssignment] = [:]
  /// Tasks taken back from dead workers → their search, so a late RESULT still counts for
  /// candidates nobody has scored yet.
  var retiredTasks: [String: String] = [:]
  var retiredOrder: [String] = []
  /// Workers a send found unreachable; declared dead at the next tick.
  var unreachable: Set<[UInt8]> = []
  var replies = ReplyCache()
  /// Request id → the search or job that request started (durable: read from the store).
  var startedBy: [String: String] = [:]
  var localWorkers: LocalWorkerPool?
  var taskCounter = 0
  var dispatchNeeded = true
  let startedAt = Date()
  var stopRequested = false
  /// Why the daemon is stopping on its own: a write to the store failed (see `storeFailed`).
  var fatalStoreError: String?
  /// The read-only web pages (`--http`), polled by the loop beside the sockets.
  var http: HTTPServer?
  /// What the TASKs are for: searches and training jobs, or the broker benchmark.
  let taskSource: any TaskSource

  var heartbeat: Int { configuration.heartbeatMilliseconds }
  var tickMilliseconds: Int { max(10, min(100, heartbeat / 4)) }

  /// Locks the state directory (a second daemon on it is refused, naming the first one's
  /// pid), opens the store, binds the three sockets (CURVE servers with a ZAP allow-list
  /// when configured). Nothing is served until `run()`.
  public init(configuration: DaemonConfiguration) throws {
    self.configuration = configuration
    if let tasks = configuration.benchBrokerTasks { taskSource = BrokerBench(total: tasks) } else { taskSource = SearchesAndJobs() }
    let fm = FileManager.default
    try fm.createDirectory(atPath: configuration.stateDirectory, withIntermediateDirectories: true)
    stateDirectory = DataRoot.realpath(configuration.stateDirectory) ?? configuration.stateDirectory
    // Before anything else touches the directory (the store's migrations included).
    stateLock = try StateDirectoryLock(directory: stateDirectory)
    jobsDirectory = stateDirectory + "/jobs"
    try fm.createDirectory(atPath: jobsDirectory, withIntermediateDirectories: true)
    store = try Store(path: stateDirectory + "/diswot.sqlite")
    dataRoot = try DataRoot(configuration.dataRoot)
    context = try ZMQContext()

    if let secretFile = configuration.curveSecretKeyFile {
      guard Curve.isAvailable else { throw DaemonError.failure("this libzmq was built without CURVE") }
      guard let keysDirectory = configuration.authorizedKeysDirectory else {
        throw DaemonError.configuration("--curve needs --authorized-keys DIR")
      }
      serverKey = try CurveKeyPair.read(secretFile: URL(fileURLWithPath: secretFile))
      var allowList = try ZAPHandler.loadAllowList(directory: URL(fileURLWithPath: keysDirectory))
      if configuration.localWorkers > 0 {
        // Local workers get a key pair of their own, made afresh at every start and
        // admitted in memory only (user id `local-worker`).
        let keysDir = URL(fileURLWithPath: stateDirectory).appendingPathComponent("keys")
        try fm.createDirectory(at: keysDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let pair = try CurveKeyPair.generate()
        try pair.write(to: keysDir, name: "local-worker")
        allowList[pair.publicKey] = "local-worker"
        localWorkerKeyFile = CurveKeyPair.secretFile(in: keysDir, name: "local-worker").path
      }
      Log.info("CURVE on; \(allowList.count) authorised key\(allowList.count == 1 ? "" : "s") in \(keysDirectory): \(allowList.values.sorted().joined(separator: ", "))")
      zap = try ZAPHandler(context: context, allowList: allowList, domain: WireProtocol.zapDomain) { decision in
        if let user = decision.userID {
          Log.debug("admitted \(user) from \(decision.address)")
        } else {
          Log.warning("refused a \(decision.mechanism) connection from \(decision.address): \(decision.reason ?? "")")
        }
      }
    } else {
      serverKey = nil
    }

    let context = self.context
    let serverKey = self.serverKey
    func makeSocket(_ kind: ZMQSocket.Kind, _ options: [ZMQSocket.Option]) throws -> ZMQSocket {
      let socket = try ZMQSocket(context, kind)
      try socket.set(options)
      if let serverKey {
        try socket.set([.curveServer(secretKey: serverKey.secretKey), .zapDomain(WireProtocol.zapDomain), .zapEnforceDomain(true)])
      }
      return socket
    }
    clientSocket = try makeSocket(.router, [.maxMessageSize(bytes: WireProtocol.maxFrameBytes), .sendHighWaterMark(10_000)])
    workerSocket = try makeSocket(
      .router, [.maxMessageSize(bytes: WireProtocol.maxFrameBytes), .routerMandatory(true), .sendHighWaterMark(100_000), .receiveHighWaterMark(100_000)])
    eventSocket = try makeSocket(.pub, [.sendHighWaterMark(10_000)])
    try clientSocket.bind(configuration.clientEndpoint)
    try workerSocket.bind(configuration.workerEndpoint)
    try eventSocket.bind(configuration.eventEndpoint)
    clientEndpoint = try clientSocket.lastEndpoint()
    workerEndpoint = try workerSocket.lastEndpoint()
    eventEndpoint = try eventSocket.lastEndpoint()
    if let text = configuration.httpAddress {
      http = try HTTPServer(address: try HTTPAddress(parsing: text)) { [unowned self] request in self.page(for: request) }
    }
  }

  /// Serves until SIGINT/SIGTERM (see `ShutdownSignal`) or `stop()`, then shuts down:
  /// local workers stopped, workers told to disconnect, sockets and store closed.
  public func run() throws {
    try recover()
    Log.info("diswotd \(WireProtocol.softwareVersion) (\(WireProtocol.tag)): clients \(clientEndpoint), workers \(workerEndpoint), events \(eventEndpoint)\(http.map { ", pages \($0.url)" } ?? ""); state \(stateDirectory); data root \(dataRoot.path)")
    if configuration.localWorkers > 0 {
      var arguments = [
        "--connect", workerEndpoint, "--threads", "\(configuration.localWorkerThreads)", "--max-memory", "\(configuration.maxMemory.bytes)",
        "--capabilities", configuration.localWorkerCapabilities.joined(separator: ","),
        "--heartbeat-ms", "\(heartbeat)", "--liveness", "\(configuration.liveness)", "--exit-with-parent",
      ]
      if configuration.localWorkersNoop { arguments.append("--noop") }
      if Log.level >= .warning { arguments.append("--quiet") } else if Log.level == .debug { arguments.append("--verbose") }
      if let serverKey, let keyFile = localWorkerKeyFile {
        arguments += ["--curve-server-key", serverKey.publicKey, "--key", keyFile]
      }
      localWorkers = LocalWorkerPool(
        executable: configuration.workerExecutable ?? LocalWorkerPool.defaultExecutable(), arguments: arguments,
        count: configuration.localWorkers)
    }
    try writeReadyFile()

    let poller = ZMQPoller([clientSocket, workerSocket])
    var lastTick = 0
    while ShutdownSignal.received == 0 && !stopRequested {
      // Work waiting (an engine looking for a candidate): look at the sockets, do not wait on them.
      let httpItems = http?.pollItems() ?? []
      let (ready, readyDescriptors) = try poller.poll(
        timeoutMilliseconds: dispatchNeeded ? 0 : tickMilliseconds,
        descriptors: httpItems.map { ($0.descriptor, $0.writable ? .writable : .readable) })
      if ready[0].contains(.readable) { drainClients() }
      if ready[1].contains(.readable) { drainWorkers() }
      let now = Monotonic.milliseconds()
      if let http {
        // Any event, error and hang-up included (POLLERR is reported whatever was asked).
        http.service(ready: zip(httpItems, readyDescriptors).filter { !$0.1.isEmpty }.map(\.0.descriptor), now: now)
        http.expire(now: now)
      }
      if now - lastTick >= tickMilliseconds {
        tick(now: now)
        lastTick = now
      }
      if dispatchNeeded && !stopRequested {
        dispatchNeeded = false
        taskSource.dispatch(self)
      }
    }
    shutdown()
    if let fatalStoreError { throw DaemonError.failure(fatalStoreError) }
  }

  /// Asks `run()` to return after the current iteration.
  public func stop() { stopRequested = true }

  /// A write the daemon made on its own account (a worker's result, a job's state, a
  /// progress record) failed. The store is the truth a restart resumes from; carrying on
  /// would let memory drift from it (a job gone from memory while the store still says
  /// running, and trained again after a restart). So the daemon stops: `run()` throws and
  /// `diswotd` exits 1 naming the failed write, with nothing changed in memory after it.
  /// (A write for a client request fails that request instead; see `handleClient`.)
  func storeFailed(_ operation: String, _ error: any Error) {
    let message = "cannot \(operation): \(error); stopping so that nothing goes on that the store did not record (restart to resume from it)"
    Log.error(message)
    if fatalStoreError == nil { fatalStoreError = message }
    stopRequested = true
  }

  private func shutdown() {
    Log.info(ShutdownSignal.received != 0 ? "signal \(ShutdownSignal.received): shutting down" : "shutting down")
    for identity in Array(workers.keys) {
      sendWorker(identity, WorkerMessage(WorkerDisconnect(reason: "daemon shutting down")))
    }
    // Let the DISCONNECTs (and any last replies) leave before the sockets close.
    try? workerSocket.set(.linger(milliseconds: 500))
    try? clientSocket.set(.linger(milliseconds: 500))
    localWorkers?.stop()
    workerSocket.close()
    clientSocket.close()
    eventSocket.close()
    http?.close()
    zap?.stop()
    store.close()
    Log.info("stopped")
  }

  private func writeReadyFile() throws {
    guard let path = configuration.readyFile else { return }
    let info: JSONValue = [
      "client": .string(clientEndpoint), "workers": .string(workerEndpoint), "events": .string(eventEndpoint),
      "pid": .int(Int(getpid())), "state_dir": .string(stateDirectory), "version": .string(WireProtocol.softwareVersion),
      "http": http.map { .string($0.url) } ?? .null,
    ]
    try DurableFile.writeAtomically(path: path, bytes: Array((info.compactText + "\n").utf8))
  }

  // MARK: - The loop's parts

  private func drainClients() {
    for _ in 0..<256 where !stopRequested {
      guard let message = try? clientSocket.receiveMessage(timeoutMilliseconds: 0) else { return }
      handleClient(message)
    }
    dispatchNeeded = true
  }

  private func drainWorkers() {
    for _ in 0..<4096 where !stopRequested {
      guard let message = try? workerSocket.receiveMessage(timeoutMilliseconds: 0) else { return }
      handleWorker(message)
    }
  }

  /// Leases, heartbeats, liveness, local workers, delayed jobs.
  func tick(now: Int) {
    for identity in Array(unreachable) {
      unreachable.remove(identity)
      if workers[identity] != nil { removeWorker(identity, reason: "unreachable") }
    }
    expireLeases(now: now)
    let deadline = heartbeat * configuration.liveness
    for (identity, worker) in workers {
      if now - worker.lastHeard > deadline {
        removeWorker(identity, reason: "silent for \(now - worker.lastHeard) ms")
      } else if now - worker.lastSent >= heartbeat {
        sendWorker(identity, .heartbeat)
      }
    }
    localWorkers?.tick(now: now)
    if taskSource.hasWork(self) { dispatchNeeded = true }
  }

  // MARK: - Sending

  func sendReply(_ envelope: Envelope, _ reply: ClientReply) {
    try? clientSocket.send(frames: envelope.wrap(WireMessage.encode(reply)), dontWait: true)
  }

  /// Sends to a worker; false (and the worker marked unreachable) when it is gone.
  @discardableResult
  func sendWorker(_ identity: [UInt8], _ message: WorkerMessage) -> Bool {
    do {
      try workerSocket.send(frames: [identity] + WireMessage.encode(message), dontWait: true)
      workers[identity]?.lastSent = Monotonic.milliseconds()
      return true
    } catch {
      if error.isUnroutable, workers[identity] != nil { unreachable.insert(identity) }
      return false
    }
  }

  /// Publishes an event (dropped if no subscriber keeps up; events are notifications).
  func publish(_ topic: String, _ body: [String: JSONValue]) {
    try? eventSocket.send(frames: WireMessage.encode(EventMessage(topic: topic, body: body)), dontWait: true)
  }

  // MARK: - Recovery

  /// Reloads unfinished searches and jobs from the store, and the request ids of every
  /// search and job (so retried starts stay idempotent across restarts). A store write that
  /// fails here fails the start.
  func recover() throws {
    for record in try store.searches() {
      if let doc = try? JSONDecoder().decode(SearchDocument.self, from: Data(record.specJSON.utf8)), let rid = doc.requestID {
        startedBy[rid] = record.id
      }
    }
    for record in try store.jobs() {
      if let doc = try? JSONDecoder().decode(JobDocument.self, from: Data(record.specJSON.utf8)), let rid = doc.requestID {
        startedBy[rid] = record.id
      }
    }
    for record in try store.unfinishedSearches() {
      do {
        let document = try JSONDecoder().decode(SearchDocument.self, from: Data(record.specJSON.utf8))
        let space = try SearchSpace.load(path: SearchSpaceLocator.resolve(document.scoring.space))
        let engine = try EngineCheckpoint.restore(
          json: record.engineJSON, configuration: document.search, rows: try store.evaluations(searchID: record.id),
          unscorable: try store.unscorable(searchID: record.id), space: space)
        let run = try SearchRun(
          id: record.id, document: document, state: record.state, engine: engine, space: space,
          evaluations: try store.evaluationCount(searchID: record.id), createdAt: record.createdAt,
          memoryLimit: configuration.maxMemory)
        // Proposals out at the checkpoint were never applied: the restored engine hands
        // them out again (`SearchEngine.Checkpoint`).
        searches[record.id] = run
        searchOrder.append(record.id)
        Log.info("restored search \(record.id) (\(record.state.rawValue)): \(run.evaluations)/\(engine.configuration.budget) evaluated, \(run.queue.count) to re-dispatch")
      } catch {
        Log.error("cannot restore search \(record.id): \(error)")
        try store.setSearchState(record.id, .failed, error: "cannot restore after restart: \(error)")
        continue
      }
      if let run = searches[record.id], run.state == .running, run.isDrained { try finishSearch(run) }
    }
    for record in try store.unfinishedJobs() {
      do {
        let document = try JSONDecoder().decode(JobDocument.self, from: Data(record.specJSON.utf8))
        let job = JobRun(
          id: record.id, document: document, searchID: record.searchID,
          directory: record.checkpointDir ?? jobsDirectory + "/" + record.id, state: .queued, createdAt: record.createdAt)
        job.progress = record.progressJSON.flatMap { JSONValue.parse($0)?.objectValue }
        if record.state == .running { try store.updateJob(record.id, state: .queued) }
        jobs[record.id] = job
        Log.info("restored \(job.label) \(record.id): queued\(job.isRanking ? "" : " to resume from \(job.directory)")")
      } catch {
        Log.error("cannot restore job \(record.id): \(error)")
        try store.updateJob(record.id, state: .failed, error: "cannot restore after restart: \(error)")
      }
    }
  }
}
