import Foundation

/// The ZeroMQ authentication handler (ZAP, RFC 27) of one context: admits a CURVE client
/// only when its long-term public key is on an allow-list.
///
/// It binds a REP socket to `inproc://zeromq.zap.01` in the given context when created,
/// so create it **before** binding any CURVE server socket of that context (a context has
/// at most one handler; a second fails with `EADDRINUSE`). A thread of its own then answers
/// every request libzmq sends: version `1.0`, the request id echoed, status `200` with the
/// key's name as user id when the mechanism is CURVE and the key is allowed, `400` with an
/// empty user id otherwise (unknown key, other mechanism, other domain, malformed request).
/// Server sockets read the user id of a message with `ZMQSocket.receiveMessage().userID`.
///
/// Without any handler libzmq admits every CURVE client (encryption without
/// authentication); set `.zapEnforceDomain(true)` on server sockets to fail closed instead.
///
/// `@unchecked Sendable`: its state (allow-list, stop flag, control socket) is guarded by
/// a lock, and its REP socket is owned by its thread alone.
public final class ZAPHandler: @unchecked Sendable {
  /// The endpoint libzmq sends ZAP requests to.
  public static let endpoint = "inproc://zeromq.zap.01"

  /// One answered request, for logging.
  public struct Decision: Sendable, Equatable {
    /// The peer's address as libzmq reports it (e.g. `127.0.0.1`).
    public var address: String
    /// The mechanism the peer used (`CURVE`, `NULL`, `PLAIN`).
    public var mechanism: String
    /// The peer's public key in Z85, for CURVE.
    public var publicKey: String?
    /// The key's name when admitted; nil when refused.
    public var userID: String?
    /// Why the peer was refused (nil when admitted).
    public var reason: String?
  }

  private let state: SharedState
  private let lock = NSLock()
  private var control: ZMQSocket?
  private let finished = DispatchSemaphore(value: 0)

  /// Starts a handler in `context` admitting the keys of `allowList` (Z85 public key → name,
  /// the name becoming the connection's user id). With `domain`, requests for any other ZAP
  /// domain are refused. `onDecision` is called on the handler's thread after each answer.
  public init(
    context: ZMQContext, allowList: [String: String], domain: String? = nil,
    onDecision: (@Sendable (Decision) -> Void)? = nil
  ) throws(ZMQError) {
    state = SharedState(allowList: allowList, domain: domain)
    let rep = try ZMQSocket(context, .rep)
    try rep.bind(Self.endpoint)
    let controlEndpoint = "inproc://diswot.zap-control.\(UUID().uuidString)"
    let pipe = try ZMQSocket(context, .pair)
    try pipe.bind(controlEndpoint)
    let control = try ZMQSocket(context, .pair)
    try control.connect(controlEndpoint)
    self.control = control
    // The thread gets its sockets once, at its start (a synchronisation point); from then
    // on only it touches them.
    let sockets = SocketHandOver(rep: rep, pipe: pipe)
    let finished = self.finished
    let state = self.state
    let worker = Thread {
      Self.serve(sockets: sockets, state: state, onDecision: onDecision)
      finished.signal()
    }
    worker.name = "diswot-zap"
    worker.start()
  }

  /// Starts a handler admitting the keys of every `*.key` file in `directory`
  /// (see `loadAllowList`).
  public convenience init(
    context: ZMQContext, keysDirectory: URL, domain: String? = nil,
    onDecision: (@Sendable (Decision) -> Void)? = nil
  ) throws {
    let allowList = try Self.loadAllowList(directory: keysDirectory)
    try self.init(context: context, allowList: allowList, domain: domain, onDecision: onDecision)
  }

  deinit { stop() }

  /// Replaces the allow-list (for example after the key directory changed); applies to
  /// connections made from now on.
  public func update(allowList: [String: String]) {
    state.allowList = allowList
  }

  /// The current allow-list.
  public var currentAllowList: [String: String] { state.allowList }

  /// Stops the thread and closes its sockets; waits until it has. Idempotent. After this,
  /// CURVE handshakes in the context fail or succeed per `.zapEnforceDomain`.
  public func stop() {
    lock.lock()
    guard let control else {
      lock.unlock()
      return
    }
    self.control = nil
    lock.unlock()
    try? control.send(frames: [Array("STOP".utf8)])
    finished.wait()
    control.close()
  }

  /// Reads the allow-list from a directory: each `NAME.key` certificate (czmq format, see
  /// `CurveKeyPair`) admits its public key under the name NAME. Other files (secret
  /// certificates, `*.key_secret`, notes) are ignored; an unreadable or malformed `.key`
  /// file is an error, so a typo cannot silently lock a client out or in.
  public static func loadAllowList(directory: URL) throws(CurveError) -> [String: String] {
    let names: [String]
    do {
      names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
    } catch {
      throw CurveError("cannot list \(directory.path): \(error.localizedDescription)")
    }
    var allowList: [String: String] = [:]
    for file in names.sorted() where file.hasSuffix(".key") {
      let name = String(file.dropLast(4))
      guard CurveKeyPair.isValidName(name) else { continue }
      let key = try CurveKeyPair.readPublicKey(file: directory.appendingPathComponent(file))
      if let other = allowList[key], other != name {
        throw CurveError("\(directory.path): \(other).key and \(name).key hold the same public key")
      }
      allowList[key] = name
    }
    return allowList
  }

  // MARK: - The handler thread

  /// The sockets moved into the handler's thread at its start.
  private final class SocketHandOver: @unchecked Sendable {
    let rep: ZMQSocket
    let pipe: ZMQSocket
    init(rep: ZMQSocket, pipe: ZMQSocket) {
      self.rep = rep
      self.pipe = pipe
    }
  }

  /// The allow-list (under its lock) and domain, shared by the handler and its thread.
  private final class SharedState: @unchecked Sendable {
    private let lock = NSLock()
    private var keys: [String: String]
    let domain: String?
    init(allowList: [String: String], domain: String?) {
      keys = allowList
      self.domain = domain
    }
    var allowList: [String: String] {
      get { lock.withLock { keys } }
      set { lock.withLock { keys = newValue } }
    }
  }

  private static func serve(
    sockets: SocketHandOver, state: SharedState, onDecision: (@Sendable (Decision) -> Void)?
  ) {
    defer {
      sockets.rep.close()
      sockets.pipe.close()
    }
    let poller = ZMQPoller([sockets.rep, sockets.pipe])
    while true {
      guard let ready = try? poller.poll(timeoutMilliseconds: -1) else { return }
      if ready[1].contains(.readable) { return }
      guard ready[0].contains(.readable) else { continue }
      guard let request = try? sockets.rep.receive(timeoutMilliseconds: 0) else { continue }
      let (reply, decision) = answer(request, allowList: state.allowList, domain: state.domain)
      guard (try? sockets.rep.send(frames: reply)) != nil else { return }
      if let decision { onDecision?(decision) }
    }
  }

  /// The reply frames to one ZAP request, and what was decided (nil for a request too
  /// malformed to describe). Pure: exposed to the module's tests.
  static func answer(
    _ request: [[UInt8]], allowList: [String: String], domain: String?
  ) -> (reply: [[UInt8]], decision: Decision?) {
    let requestID = request.count > 1 ? request[1] : []
    func reply(_ code: String, _ text: String, userID: String = "") -> [[UInt8]] {
      [Array("1.0".utf8), requestID, Array(code.utf8), Array(text.utf8), Array(userID.utf8), []]
    }
    // version, request id, domain, address, routing id, mechanism, credentials…
    guard request.count >= 6, request[0] == Array("1.0".utf8) else {
      return (reply("400", "malformed ZAP request"), nil)
    }
    let text = { (bytes: [UInt8]) in String(decoding: bytes, as: UTF8.self) }
    var decision = Decision(address: text(request[3]), mechanism: text(request[5]))
    func refuse(_ reason: String) -> ([[UInt8]], Decision?) {
      decision.reason = reason
      return (reply("400", reason), decision)
    }
    if let domain, text(request[2]) != domain {
      return refuse("ZAP domain '\(text(request[2]))' is not '\(domain)'")
    }
    guard decision.mechanism == "CURVE" else { return refuse("mechanism \(decision.mechanism) is not allowed; use CURVE") }
    guard request.count == 7, request[6].count == 32, let key = Curve.z85Encode(request[6]) else {
      return refuse("malformed CURVE credentials")
    }
    decision.publicKey = key
    guard let name = allowList[key] else { return refuse("public key is not on the allow-list") }
    decision.userID = name
    return (reply("200", "OK", userID: name), decision)
  }
}
