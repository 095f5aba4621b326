import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One message as received: its frames and the connection properties libzmq attached.
public struct ZMQMessage: Sendable, Equatable {
  /// Every frame, in order (a ROUTER's peer identity first).
  public var frames: [[UInt8]]
  /// The `User-Id` a ZAP handler returned for the peer's connection (for diswot, the name of
  /// the CURVE key it authenticated with); nil without authentication.
  public var userID: String?

  public init(frames: [[UInt8]], userID: String? = nil) {
    self.frames = frames
    self.userID = userID
  }
}

/// A ZeroMQ socket: bind or connect, then send and receive multipart messages.
///
/// **Not thread-safe** (libzmq's rule): each socket is owned by one thread at a time. A socket
/// may be handed to another thread once (for example created and bound on one thread, then
/// moved into the thread that serves it) provided the hand-over is a synchronisation point,
/// such as starting that thread. The type is therefore not `Sendable`.
///
/// New sockets have linger 0 (libzmq's default is to wait forever on close for unsent
/// messages): closing never blocks. Set `.linger` to flush replies on close.
/// `close()` is idempotent and runs on deinit; operations on a closed socket throw `ENOTSOCK`.
public final class ZMQSocket {
  /// The ZeroMQ socket type.
  public enum Kind: Sendable, CaseIterable, CustomStringConvertible {
    case router, dealer, req, rep, pub, sub, pair

    var rawValue: Int32 {
      switch self {
      case .router: ZMQ_ROUTER
      case .dealer: ZMQ_DEALER
      case .req: ZMQ_REQ
      case .rep: ZMQ_REP
      case .pub: ZMQ_PUB
      case .sub: ZMQ_SUB
      case .pair: ZMQ_PAIR
      }
    }

    public var description: String {
      switch self {
      case .router: "ROUTER"
      case .dealer: "DEALER"
      case .req: "REQ"
      case .rep: "REP"
      case .pub: "PUB"
      case .sub: "SUB"
      case .pair: "PAIR"
      }
    }
  }

  /// A socket option (`zmq_setsockopt`). Durations are in milliseconds; -1 means "forever"
  /// or "unlimited" where libzmq allows it.
  public enum Option: Sendable, Equatable {
    /// How long `close` keeps unsent messages (`ZMQ_LINGER`).
    case linger(milliseconds: Int)
    /// Largest inbound frame; a peer sending a larger one is disconnected (`ZMQ_MAXMSGSIZE`).
    case maxMessageSize(bytes: Int)
    /// ROUTER: sending to an unknown identity fails with `EHOSTUNREACH` instead of being
    /// dropped silently (`ZMQ_ROUTER_MANDATORY`).
    case routerMandatory(Bool)
    /// How long a blocking `receive()` waits (`ZMQ_RCVTIMEO`).
    case receiveTimeout(milliseconds: Int)
    /// How long a blocking `send` waits for room (`ZMQ_SNDTIMEO`).
    case sendTimeout(milliseconds: Int)
    /// SUB: receive messages whose first frame starts with this prefix (`ZMQ_SUBSCRIBE`).
    case subscribe([UInt8])
    /// SUB: drop a subscription (`ZMQ_UNSUBSCRIBE`).
    case unsubscribe([UInt8])
    /// The identity a ROUTER peer sees for this socket (`ZMQ_ROUTING_ID`, 1–255 bytes, not
    /// starting with a zero byte); set before connecting.
    case routingID([UInt8])
    /// Queue limits in messages (`ZMQ_SNDHWM`, `ZMQ_RCVHWM`).
    case sendHighWaterMark(Int)
    case receiveHighWaterMark(Int)
    /// Queue messages only to completed connections (`ZMQ_IMMEDIATE`).
    case immediate(Bool)
    /// Reconnection back-off (`ZMQ_RECONNECT_IVL`, `ZMQ_RECONNECT_IVL_MAX`).
    case reconnectInterval(milliseconds: Int)
    case reconnectIntervalMax(milliseconds: Int)
    /// Time allowed for a connection's handshake, CURVE included (`ZMQ_HANDSHAKE_IVL`).
    case handshakeInterval(milliseconds: Int)
    /// ZMTP-level heartbeats (`ZMQ_HEARTBEAT_IVL`, `_TIMEOUT`, `_TTL`). These detect a dead
    /// *connection*; diswot's own HEARTBEAT messages (see `WireProtocol`) detect a dead *peer*.
    case heartbeatInterval(milliseconds: Int)
    case heartbeatTimeout(milliseconds: Int)
    case heartbeatTTL(milliseconds: Int)
    /// The ZAP domain passed to the authentication handler (`ZMQ_ZAP_DOMAIN`).
    case zapDomain(String)
    /// Refuse connections when no ZAP handler answers instead of admitting them
    /// (`ZMQ_ZAP_ENFORCE_DOMAIN`, libzmq draft option 93; fails with `EINVAL` on a libzmq
    /// built without it).
    case zapEnforceDomain(Bool)
    /// Become a CURVE server with this Z85 secret key (`ZMQ_CURVE_SERVER`, `_SECRETKEY`).
    case curveServer(secretKey: String)
    /// Become a CURVE client of the server with this Z85 public key, authenticating with
    /// the given key pair (`ZMQ_CURVE_SERVERKEY`, `_PUBLICKEY`, `_SECRETKEY`).
    case curveClient(serverPublicKey: String, publicKey: String, secretKey: String)
  }

  public let kind: Kind
  /// The context this socket belongs to (kept alive by the socket).
  public let context: ZMQContext
  /// The libzmq socket; nil once closed.
  private(set) var handle: UnsafeMutableRawPointer?

  /// Creates a socket of `kind` in `context`, with linger 0.
  public init(_ context: ZMQContext, _ kind: Kind) throws(ZMQError) {
    guard let handle = zmq_socket(context.handle, kind.rawValue) else {
      throw .last("zmq_socket(\(kind))")
    }
    self.context = context
    self.kind = kind
    self.handle = handle
    try set(.linger(milliseconds: 0))
  }

  deinit { close() }

  /// Whether `close()` has been called.
  public var isClosed: Bool { handle == nil }

  /// Closes the socket (idempotent). Unsent messages are kept for the linger period by
  /// libzmq's I/O thread, not by this call.
  public func close() {
    if let handle {
      zmq_close(handle)
      self.handle = nil
    }
  }

  func open(_ operation: String) throws(ZMQError) -> UnsafeMutableRawPointer {
    guard let handle else { throw ZMQError(operation: operation, errno: ENOTSOCK) }
    return handle
  }

  // MARK: - Endpoints

  /// Binds to an endpoint such as `tcp://127.0.0.1:5555`, `tcp://127.0.0.1:*` (an ephemeral
  /// port: read it back with `lastEndpoint()`) or `inproc://name`.
  public func bind(_ endpoint: String) throws(ZMQError) {
    let operation = "zmq_bind(\(endpoint))"
    guard zmq_bind(try open(operation), endpoint) == 0 else { throw .last(operation) }
  }

  /// Connects to an endpoint; the connection is made (and remade) in the background.
  public func connect(_ endpoint: String) throws(ZMQError) {
    let operation = "zmq_connect(\(endpoint))"
    guard zmq_connect(try open(operation), endpoint) == 0 else { throw .last(operation) }
  }

  /// Stops listening on a bound endpoint.
  public func unbind(_ endpoint: String) throws(ZMQError) {
    let operation = "zmq_unbind(\(endpoint))"
    guard zmq_unbind(try open(operation), endpoint) == 0 else { throw .last(operation) }
  }

  /// Drops a connection made with `connect`.
  public func disconnect(_ endpoint: String) throws(ZMQError) {
    let operation = "zmq_disconnect(\(endpoint))"
    guard zmq_disconnect(try open(operation), endpoint) == 0 else { throw .last(operation) }
  }

  /// The endpoint of the last `bind` or `connect`, with the port resolved
  /// (`ZMQ_LAST_ENDPOINT`), e.g. `tcp://127.0.0.1:39341` after binding `tcp://127.0.0.1:*`.
  public func lastEndpoint() throws(ZMQError) -> String {
    let operation = "zmq_getsockopt(ZMQ_LAST_ENDPOINT)"
    let handle = try open(operation)
    var buffer = [CChar](repeating: 0, count: 1024)
    var size = buffer.count
    guard zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else { throw .last(operation) }
    return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
  }

  // MARK: - Options

  /// Sets one option.
  public func set(_ option: Option) throws(ZMQError) {
    switch option {
    case .linger(let ms): try setInt(ZMQ_LINGER, ms, "ZMQ_LINGER")
    case .maxMessageSize(let bytes):
      var value = Int64(bytes)
      try setRaw(ZMQ_MAXMSGSIZE, &value, MemoryLayout<Int64>.size, "ZMQ_MAXMSGSIZE")
    case .routerMandatory(let on): try setInt(ZMQ_ROUTER_MANDATORY, on ? 1 : 0, "ZMQ_ROUTER_MANDATORY")
    case .receiveTimeout(let ms): try setInt(ZMQ_RCVTIMEO, ms, "ZMQ_RCVTIMEO")
    case .sendTimeout(let ms): try setInt(ZMQ_SNDTIMEO, ms, "ZMQ_SNDTIMEO")
    case .subscribe(let prefix): try setBytes(ZMQ_SUBSCRIBE, prefix, "ZMQ_SUBSCRIBE")
    case .unsubscribe(let prefix): try setBytes(ZMQ_UNSUBSCRIBE, prefix, "ZMQ_UNSUBSCRIBE")
    case .routingID(let id): try setBytes(ZMQ_ROUTING_ID, id, "ZMQ_ROUTING_ID")
    case .sendHighWaterMark(let n): try setInt(ZMQ_SNDHWM, n, "ZMQ_SNDHWM")
    case .receiveHighWaterMark(let n): try setInt(ZMQ_RCVHWM, n, "ZMQ_RCVHWM")
    case .immediate(let on): try setInt(ZMQ_IMMEDIATE, on ? 1 : 0, "ZMQ_IMMEDIATE")
    case .reconnectInterval(let ms): try setInt(ZMQ_RECONNECT_IVL, ms, "ZMQ_RECONNECT_IVL")
    case .reconnectIntervalMax(let ms): try setInt(ZMQ_RECONNECT_IVL_MAX, ms, "ZMQ_RECONNECT_IVL_MAX")
    case .handshakeInterval(let ms): try setInt(ZMQ_HANDSHAKE_IVL, ms, "ZMQ_HANDSHAKE_IVL")
    case .heartbeatInterval(let ms): try setInt(ZMQ_HEARTBEAT_IVL, ms, "ZMQ_HEARTBEAT_IVL")
    case .heartbeatTimeout(let ms): try setInt(ZMQ_HEARTBEAT_TIMEOUT, ms, "ZMQ_HEARTBEAT_TIMEOUT")
    case .heartbeatTTL(let ms): try setInt(ZMQ_HEARTBEAT_TTL, ms, "ZMQ_HEARTBEAT_TTL")
    case .zapDomain(let domain): try setBytes(ZMQ_ZAP_DOMAIN, Array(domain.utf8), "ZMQ_ZAP_DOMAIN")
    case .zapEnforceDomain(let on): try setInt(Self.zapEnforceDomainOption, on ? 1 : 0, "ZMQ_ZAP_ENFORCE_DOMAIN")
    case .curveServer(let secretKey):
      try Self.checkKey(secretKey, "ZMQ_CURVE_SECRETKEY")
      try setInt(ZMQ_CURVE_SERVER, 1, "ZMQ_CURVE_SERVER")
      try setBytes(ZMQ_CURVE_SECRETKEY, Array(secretKey.utf8), "ZMQ_CURVE_SECRETKEY")
    case .curveClient(let serverPublicKey, let publicKey, let secretKey):
      try Self.checkKey(serverPublicKey, "ZMQ_CURVE_SERVERKEY")
      try Self.checkKey(publicKey, "ZMQ_CURVE_PUBLICKEY")
      try Self.checkKey(secretKey, "ZMQ_CURVE_SECRETKEY")
      try setBytes(ZMQ_CURVE_SERVERKEY, Array(serverPublicKey.utf8), "ZMQ_CURVE_SERVERKEY")
      try setBytes(ZMQ_CURVE_PUBLICKEY, Array(publicKey.utf8), "ZMQ_CURVE_PUBLICKEY")
      try setBytes(ZMQ_CURVE_SECRETKEY, Array(secretKey.utf8), "ZMQ_CURVE_SECRETKEY")
    }
  }

  /// Sets several options in order.
  public func set(_ options: [Option]) throws(ZMQError) {
    for option in options { try set(option) }
  }

  private static let placeholder: [UInt8] = [0]

  /// `ZMQ_ZAP_ENFORCE_DOMAIN` (a draft option, absent from zmq.h without ZMQ_BUILD_DRAFT_API).
  static let zapEnforceDomainOption: Int32 = 93

  /// A CURVE key must be 40 characters of Z85; checked here so a bad key is an `EINVAL`
  /// naming the option rather than libzmq silently treating 40 other bytes as binary.
  private static func checkKey(_ key: String, _ name: String) throws(ZMQError) {
    guard Curve.isValidKey(key) else {
      throw ZMQError(operation: "zmq_setsockopt(\(name)): not a 40-character Z85 key", errno: EINVAL)
    }
  }

  private func setInt(_ option: Int32, _ value: Int, _ name: String) throws(ZMQError) {
    guard let int32 = Int32(exactly: value) else {
      throw ZMQError(operation: "zmq_setsockopt(\(name), \(value))", errno: EINVAL)
    }
    var v = int32
    try setRaw(option, &v, MemoryLayout<Int32>.size, name)
  }

  private func setBytes(_ option: Int32, _ bytes: [UInt8], _ name: String) throws(ZMQError) {
    let operation = "zmq_setsockopt(\(name))"
    let handle = try open(operation)
    let rc = bytes.withUnsafeBytes { buffer in
      zmq_setsockopt(handle, option, buffer.baseAddress, buffer.count)
    }
    guard rc == 0 else { throw .last(operation) }
  }

  private func setRaw(_ option: Int32, _ value: UnsafeRawPointer, _ size: Int, _ name: String) throws(ZMQError) {
    let operation = "zmq_setsockopt(\(name))"
    guard zmq_setsockopt(try open(operation), option, value, size) == 0 else { throw .last(operation) }
  }

  // MARK: - Messages

  /// Sends `frames` as one multipart message (all frames arrive or none do).
  ///
  /// Blocks while the queue is full, up to the send timeout; `dontWait` fails at once
  /// instead. Throws `isTimeout` when there was no room, `isUnroutable` from a ROUTER with
  /// `routerMandatory` and an unknown identity, and `EINVAL` for an empty frame list.
  public func send(frames: [[UInt8]], dontWait: Bool = false) throws(ZMQError) {
    let operation = "zmq_send"
    let handle = try open(operation)
    guard !frames.isEmpty else { throw ZMQError(operation: "zmq_send: no frames", errno: EINVAL) }
    for (index, frame) in frames.enumerated() {
      var flags: Int32 = index < frames.count - 1 ? ZMQ_SNDMORE : 0
      if dontWait { flags |= ZMQ_DONTWAIT }
      while true {
        // An empty frame still gets a valid address (libzmq copies zero bytes from it).
        let rc = (frame.isEmpty ? Self.placeholder : frame).withUnsafeBytes { buffer in
          zmq_send(handle, buffer.baseAddress, frame.count, flags)
        }
        if rc >= 0 { break }
        let error = ZMQError.last(operation)
        if error.isInterrupted { continue }
        throw error
      }
    }
  }

  /// Receives one multipart message: its frames, or nil when nothing arrived in time.
  ///
  /// With `timeoutMilliseconds` it waits at most that long (0 polls); without, it blocks up
  /// to the socket's receive timeout (forever by default). A signal interrupting the wait
  /// also returns nil, so callers loop and check their own stop conditions.
  public func receive(timeoutMilliseconds: Int? = nil) throws(ZMQError) -> [[UInt8]]? {
    try receiveMessage(timeoutMilliseconds: timeoutMilliseconds)?.frames
  }

  /// `receive`, with the connection properties (the ZAP user id).
  public func receiveMessage(timeoutMilliseconds: Int? = nil) throws(ZMQError) -> ZMQMessage? {
    let operation = "zmq_msg_recv"
    let handle = try open(operation)
    var firstFlags: Int32 = 0
    if let timeout = timeoutMilliseconds {
      var item = zmq_pollitem_t(socket: handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
      let rc = zmq_poll(&item, 1, max(timeout, 0))
      if rc < 0 {
        let error = ZMQError.last("zmq_poll")
        if error.isInterrupted { return nil }
        throw error
      }
      if rc == 0 { return nil }
      firstFlags = ZMQ_DONTWAIT
    }
    var message = ZMQMessage(frames: [])
    while true {
      var msg = zmq_msg_t()
      zmq_msg_init(&msg)
      defer { zmq_msg_close(&msg) }
      // The parts of a multipart message arrive together, so only the first can time out.
      var rc = zmq_msg_recv(&msg, handle, message.frames.isEmpty ? firstFlags : 0)
      while rc < 0 && zmq_errno() == EINTR && !message.frames.isEmpty {
        rc = zmq_msg_recv(&msg, handle, 0)
      }
      if rc < 0 {
        let error = ZMQError.last(operation)
        if message.frames.isEmpty && (error.isTimeout || error.isInterrupted) { return nil }
        throw error
      }
      let size = zmq_msg_size(&msg)
      if size == 0 {
        message.frames.append([])
      } else {
        message.frames.append(Array(UnsafeRawBufferPointer(start: zmq_msg_data(&msg), count: size)))
      }
      // A ROUTER's identity frame is made locally and carries no connection properties,
      // so look at every frame until one has them.
      if message.userID == nil, let userID = zmq_msg_gets(&msg, "User-Id") {
        message.userID = String(cString: userID)
      }
      if zmq_msg_more(&msg) == 0 { break }
    }
    return message
  }
}
