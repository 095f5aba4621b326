import DiswotLog
import DiswotJSON
import DiswotTensor
import DiswotWire
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `diswot-worker`: connects a DEALER to the daemon's worker endpoint and serves it — the
/// zguide's Paranoid Pirate worker.
///
/// The socket thread (the caller of `run()`) sends READY on every new connection,
/// heartbeats whenever it has sent nothing for an interval, forwards TASKs, TRAIN and TEACHERS jobs
/// to the compute thread and its RESULT/PROGRESS/DONE messages back. When the daemon is
/// silent for `liveness` intervals (or says DISCONNECT) the worker cancels what it was
/// doing for that connection (a training run checkpoints first), closes the socket and
/// reconnects with a fresh one after 1 s, doubling up to 32 s while the daemon stays away.
public final class WorkerAgent {
  public let configuration: WorkerConfiguration
  private let context: ZMQContext
  private let inbox: ZMQSocket
  private let compute: ComputeThread?
  private var connection = 0
  private let parent = getppid()
  private let displayName: String

  public init(configuration: WorkerConfiguration) throws {
    self.configuration = configuration
    context = try ZMQContext()
    let endpoint = "inproc://diswot-worker-outbox"
    inbox = try ZMQSocket(context, .pair)
    try inbox.bind(endpoint)
    var host = [CChar](repeating: 0, count: 256)
    gethostname(&host, host.count - 1)
    let hostName = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    displayName = configuration.name ?? "\(hostName):\(getpid())"
    if configuration.noop {
      compute = nil
    } else {
      let outbox = try ZMQSocket(context, .pair)
      try outbox.connect(endpoint)
      compute = ComputeThread(configuration: configuration, outbox: outbox)
    }
  }

  /// Serves until SIGINT/SIGTERM or, with `exitWithParent`, until the parent dies.
  public func run() throws {
    Parallel.configure(threads: configuration.threads)
    compute?.start()
    let keys = try curveKeys()
    var delay = WireProtocol.reconnectIntervalInitialMilliseconds
    Log.info("worker \(displayName): \(configuration.noop ? "score" : configuration.capabilities.joined(separator: "+")), \(configuration.threads) thread\(configuration.threads == 1 ? "" : "s")\(configuration.noop ? ", no-op" : ""), daemon \(configuration.endpoint)")
    while !shouldStop {
      connection += 1
      compute?.cancelConnections(before: connection)
      let socket = try ZMQSocket(context, .dealer)
      try socket.set([
        .linger(milliseconds: 0), .routingID(Array("\(displayName)#\(connection)".utf8.prefix(200))),
        .maxMessageSize(bytes: WireProtocol.maxFrameBytes), .sendHighWaterMark(100_000), .receiveHighWaterMark(100_000),
      ])
      if let keys { try socket.set(.curveClient(serverPublicKey: keys.server, publicKey: keys.pair.publicKey, secretKey: keys.pair.secretKey)) }
      try socket.connect(configuration.endpoint)
      let ready = WorkerReady(
        version: WireProtocol.softwareVersion, capabilities: configuration.noop ? ["score"] : Self.announced(configuration.capabilities),
        threads: configuration.threads, name: displayName)
      try socket.send(frames: WireMessage.encode(WorkerMessage(ready)))
      let outcome = serve(socket)
      socket.close()
      switch outcome {
      case .stop:
        break
      case .disconnected:
        delay = WireProtocol.reconnectIntervalInitialMilliseconds
        sleep(milliseconds: 200)
      case .silent:
        Log.warning("the daemon is silent; reconnecting in \(delay) ms")
        sleep(milliseconds: delay)
        delay = min(delay * 2, WireProtocol.reconnectIntervalMaxMilliseconds)
      }
    }
    Log.info("worker \(displayName) stopping")
    if let compute, compute.isBusy {
      compute.cancelConnections(before: Int.max)
      if !compute.stop(waitingUpTo: 30) { Log.warning("the computation did not stop in time") }
    } else {
      compute?.stop(waitingUpTo: 5)
    }
  }

  private enum Outcome { case stop, disconnected, silent }

  private var shouldStop: Bool {
    if ShutdownSignal.received != 0 { return true }
    if configuration.exitWithParent && getppid() != parent { return true }
    return false
  }

  private func sleep(milliseconds: Int) {
    let end = Monotonic.milliseconds() + milliseconds
    while !shouldStop && Monotonic.milliseconds() < end { usleep(20_000) }
  }

  /// One connection's life.
  private func serve(_ socket: ZMQSocket) -> Outcome {
    let poller = ZMQPoller([socket, inbox])
    let heartbeat = configuration.heartbeatMilliseconds
    var lastHeard = Monotonic.milliseconds()
    var lastSent = lastHeard
    var announced = false
    func send(_ frames: [[UInt8]]) {
      if (try? socket.send(frames: frames, dontWait: true)) != nil { lastSent = Monotonic.milliseconds() }
    }
    while true {
      if shouldStop {
        if configuration.exitWithParent && getppid() != parent { Log.warning("the daemon that started this worker is gone") }
        send(WireMessage.encode(WorkerMessage(WorkerDisconnect(reason: "worker stopping"))))
        return .stop
      }
      guard let ready = try? poller.poll(timeoutMilliseconds: max(10, min(heartbeat / 2, 100))) else { return .silent }
      if ready[0].contains(.readable) {
        while let frames = try? socket.receive(timeoutMilliseconds: 0) {
          lastHeard = Monotonic.milliseconds()
          if !announced {
            announced = true
            Log.info("connected to \(configuration.endpoint)")
          }
          guard let message = try? WireMessage.decodeWorkerMessage(frames: frames) else {
            Log.warning("ignoring a malformed message from the daemon")
            continue
          }
          switch message.command {
          case .heartbeat: break
          case .task:
            let task: WorkerTask
            do { task = try message.decode(WorkerTask.self) } catch {
              // Answered, not dropped: a TASK left unanswered holds its candidates until
              // its lease runs out.
              guard let id = message.body["task_id"]?.stringValue, WireProtocol.isValidRequestID(Array(id.utf8)) else {
                Log.warning("cannot read a TASK and cannot answer it (no usable task_id): \(error.message)")
                continue
              }
              Log.warning("cannot read TASK \(id): \(error.message)")
              send(WireMessage.encode(WorkerMessage(TaskResult(
                taskID: id, results: [], error: WireError(.invalidArgument, "the worker cannot read this TASK: \(error.message)")))))
              continue
            }
            if let compute {
              compute.submit(.task(task, connection: connection))
            } else {
              send(WireMessage.encode(WorkerMessage(Self.noopResult(task))))
            }
          case .train:
            guard let job = try? message.decode(TrainJob.self), let compute else { continue }
            compute.submit(.train(job, connection: connection))
          case .teachers:
            guard let job = try? message.decode(TeachersJob.self), let compute else { continue }
            compute.submit(.teachers(job, connection: connection))
          case .cancel:
            guard let cancel = try? message.decode(WorkerCancel.self) else { continue }
            if let id = cancel.taskID { compute?.cancel(taskID: id) }
            if let id = cancel.jobID { compute?.cancel(jobID: id) }
          case .disconnect:
            let reason = (try? message.decode(WorkerDisconnect.self))?.reason ?? ""
            Log.info("the daemon asked this worker to reconnect\(reason.isEmpty ? "" : ": \(reason)")")
            compute?.cancelConnections(before: connection + 1)
            return .disconnected
          case .ready, .result, .progress, .done:
            break
          }
        }
      }
      if ready[1].contains(.readable) {
        while let frames = try? inbox.receive(timeoutMilliseconds: 0) {
          guard frames.count > 1, String(decoding: frames[0], as: UTF8.self) == "\(connection)" else { continue }
          send(Array(frames.dropFirst()))
        }
      }
      let now = Monotonic.milliseconds()
      if now - lastHeard > heartbeat * configuration.liveness {
        compute?.cancelConnections(before: connection + 1)
        return .silent
      }
      if now - lastSent >= heartbeat { send(WireMessage.encode(.heartbeat)) }
    }
  }

  /// What READY announces: a worker that trains also ranks teachers (TEACHERS jobs run
  /// forward passes of whole networks, as training does), and says so with `teachers`, so
  /// a daemon never hands one to an older worker that would ignore it.
  static func announced(_ capabilities: [String]) -> [String] {
    capabilities.contains("train") && !capabilities.contains("teachers") ? capabilities + ["teachers"] : capabilities
  }

  /// A RESULT with made-up scores (a hash of the key) for every candidate, for `--noop`.
  static func noopResult(_ task: WorkerTask) -> TaskResult {
    let proxies = (task.scoring["proxies"]?.arrayValue?.compactMap(\.stringValue)).flatMap { $0.isEmpty ? nil : $0 } ?? ["diswot"]
    return TaskResult(taskID: task.taskID, results: task.candidates.map { c in
      var hash: UInt64 = 0xCBF2_9CE4_8422_2325
      for byte in c.key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
      let score = -Double(hash % 1_000_000) / 1_000_000
      return CandidateResult(key: c.key, scores: Dictionary(uniqueKeysWithValues: proxies.map { ($0, score) }), params: 0, macs: 0, seconds: 0)
    })
  }

  private func curveKeys() throws -> (server: String, pair: CurveKeyPair)? {
    guard let server = configuration.serverPublicKey else { return nil }
    guard let keyFile = configuration.keyFile else { throw DaemonError.configuration("--curve-server-key needs --key SECRETFILE") }
    let serverKey = Curve.isValidKey(server) ? server : try CurveKeyPair.readPublicKey(file: URL(fileURLWithPath: server))
    return (serverKey, try CurveKeyPair.read(secretFile: URL(fileURLWithPath: keyFile)))
  }
}
