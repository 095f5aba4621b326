import DiswotJSON

/// The server key and client key pair a CURVE client connects with.
public struct CurveClientKeys: Sendable, Equatable {
  /// The daemon's public key (Z85).
  public var serverPublicKey: String
  /// This client's long-term key pair; its public key must be on the daemon's allow-list.
  public var client: CurveKeyPair

  public init(serverPublicKey: String, client: CurveKeyPair) {
    self.serverPublicKey = serverPublicKey
    self.client = client
  }
}

/// Why a client call failed.
public enum ClientError: Error, Sendable, Equatable, CustomStringConvertible {
  /// No reply after every attempt: the daemon is down, unreachable, or refused our CURVE key.
  case unavailable(String)
  /// The daemon answered with an error.
  case server(WireError)
  /// The request could not be sent as given (for example a body over `maxBodyBytes`).
  case invalidRequest(String)
  /// A local socket failure (malformed endpoint, invalid key, terminated context).
  case transport(ZMQError)

  public var description: String {
    switch self {
    case .unavailable(let m): "daemon unavailable: \(m)"
    case .server(let e): "\(e.message) (\(e.code.rawValue))"
    case .invalidRequest(let m): "invalid request: \(m)"
    case .transport(let e): e.description
    }
  }

  /// The protocol error code this failure corresponds to.
  public var code: ErrorCode {
    switch self {
    case .unavailable: .unavailable
    case .server(let e): e.code
    case .invalidRequest: .invalidArgument
    case .transport: .internal
    }
  }
}

/// Request/reply with the daemon, surviving its restarts: the zguide's Lazy Pirate client.
///
/// Each call sends the request on a DEALER socket and waits `timeoutMilliseconds` for the
/// reply with the same request id (replies with other ids, or that do not decode, are
/// stale or foreign and discarded). On a timeout it closes the socket (linger 0, so the
/// unsent request is dropped), opens a fresh one, reconnects and sends the same request —
/// with the same request id, so the daemon can answer a retry from its reply cache rather
/// than doing the work twice — up to `attempts` sends in all, then throws `.unavailable`.
/// A daemon that restarts between attempts is therefore invisible to the caller; a daemon
/// that is down costs `attempts × timeoutMilliseconds`.
///
/// Not thread-safe (it owns a socket): one client per thread.
public final class LazyPirateClient {
  public struct Configuration: Sendable, Equatable {
    /// The daemon's client endpoint.
    public var endpoint: String
    /// How long each attempt waits for its reply, in milliseconds.
    public var timeoutMilliseconds: Int
    /// Sends in all, the first included (≥ 1).
    public var attempts: Int
    /// CURVE keys; nil connects without encryption (the daemon's default on loopback).
    public var curve: CurveClientKeys?

    public init(
      endpoint: String = WireProtocol.defaultClientEndpoint,
      timeoutMilliseconds: Int = WireProtocol.requestTimeoutMilliseconds,
      attempts: Int = WireProtocol.requestAttempts, curve: CurveClientKeys? = nil
    ) {
      self.endpoint = endpoint
      self.timeoutMilliseconds = timeoutMilliseconds
      self.attempts = attempts
      self.curve = curve
    }
  }

  public let configuration: Configuration
  private let context: ZMQContext
  private var socket: ZMQSocket?
  /// Sockets opened so far (1 + reconnections), for tests and diagnostics.
  public private(set) var socketsOpened = 0
  /// Called before each attempt after the first with its number (2, 3, …), so a command
  /// line can say it is still trying rather than hang silently for the whole timeout.
  public var willRetry: ((_ attempt: Int) -> Void)?

  /// A client of the daemon at `configuration.endpoint`; sockets are opened lazily, on the
  /// first call, in `context` (a context of its own when nil).
  public init(configuration: Configuration = Configuration(), context: ZMQContext? = nil) throws(ClientError) {
    guard configuration.attempts >= 1 else { throw .invalidRequest("attempts must be at least 1") }
    guard configuration.timeoutMilliseconds >= 0 else { throw .invalidRequest("the timeout must not be negative") }
    self.configuration = configuration
    if let context {
      self.context = context
    } else {
      do {
        self.context = try ZMQContext()
      } catch {
        throw .transport(error)
      }
    }
  }

  deinit { socket?.close() }

  /// Closes the socket; the next call opens a new one.
  public func close() {
    socket?.close()
    socket = nil
  }

  /// Sends `command` and returns the daemon's `ok` value; an error reply throws `.server`.
  public func request(_ command: ClientCommand, body: [String: JSONValue] = [:]) throws(ClientError) -> JSONValue {
    switch try call(command, body: body) {
    case .ok(let value): return value
    case .error(let error): throw .server(error)
    }
  }

  /// Sends `command` and returns the reply body, error replies included.
  public func call(_ command: ClientCommand, body: [String: JSONValue] = [:]) throws(ClientError) -> ReplyBody {
    try call(ClientRequest(command: command, body: body))
  }

  /// Sends a prepared request (its id is kept across attempts).
  public func call(_ request: ClientRequest) throws(ClientError) -> ReplyBody {
    let frames = WireMessage.encode(request)
    guard frames[3].count <= WireProtocol.maxBodyBytes else {
      throw .invalidRequest("the request body is \(frames[3].count) bytes, over the limit of \(WireProtocol.maxBodyBytes)")
    }
    guard WireProtocol.isValidRequestID(frames[2]) else {
      throw .invalidRequest("the request id must be 1-\(WireProtocol.maxRequestIDBytes) bytes of printable ASCII without spaces")
    }
    let clock = ContinuousClock()
    for attempt in 1...configuration.attempts {
      if attempt > 1 { willRetry?(attempt) }
      do {
        let socket = try openSocket()
        try socket.send(frames: frames, dontWait: true)
        let deadline = clock.now.advanced(by: .milliseconds(configuration.timeoutMilliseconds))
        while true {
          let remaining = clock.now.duration(to: deadline)
          guard remaining > .zero else { break }
          let milliseconds = Int(remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000) + 1
          guard let reply = try socket.receive(timeoutMilliseconds: milliseconds) else { continue }
          guard let decoded = try? WireMessage.decodeClientReply(frames: reply),
            decoded.requestID == request.requestID
          else { continue }  // stale or malformed: keep waiting
          return decoded.body
        }
      } catch let error where error.isTimeout {
        // The queue was full (EAGAIN on send): count it as a lost attempt.
      } catch {
        throw .transport(error)
      }
      // No reply in time: the socket may be confused or the daemon gone. Start afresh.
      close()
    }
    throw .unavailable(
      "no reply from \(configuration.endpoint) after \(configuration.attempts) attempt\(configuration.attempts == 1 ? "" : "s") of \(configuration.timeoutMilliseconds) ms")
  }

  private func openSocket() throws(ZMQError) -> ZMQSocket {
    if let socket { return socket }
    let socket = try ZMQSocket(context, .dealer)
    try socket.set([.linger(milliseconds: 0), .maxMessageSize(bytes: WireProtocol.maxFrameBytes)])
    if let curve = configuration.curve {
      try socket.set(
        .curveClient(serverPublicKey: curve.serverPublicKey, publicKey: curve.client.publicKey, secretKey: curve.client.secretKey))
    }
    try socket.connect(configuration.endpoint)
    self.socket = socket
    socketsOpened += 1
    return socket
  }
}
