import DiswotCommandLine
import DiswotJSON
import DiswotWire
import Foundation

/// The options every command that talks to diswotd takes.
enum DaemonOptions {
  static let options: [OptionSpec] = [
    .value("daemon", valueName: "endpoint", default: WireProtocol.defaultClientEndpoint, help: "The daemon's client endpoint."),
    .value("curve-server-key", valueName: "key|file", help: "The daemon's CURVE public key (its .key file or the key): use CURVE."),
    .value("key", valueName: "file", help: "This client's secret certificate (NAME.key_secret), with --curve-server-key."),
    .value("timeout-ms", valueName: "ms", default: "\(WireProtocol.requestTimeoutMilliseconds)", help: "How long to wait for each reply attempt."),
    .json,
  ]

  /// For the commands that follow a search or job's events (`start --wait`).
  static let events: [OptionSpec] = [
    .value("events", valueName: "endpoint", help: "The daemon's event endpoint, for --wait (default: the one the daemon reports)."),
  ]
}

/// A connection to diswotd for one command: requests through the Lazy Pirate client (a
/// daemon restart between attempts goes unnoticed) and, for `--wait`, event subscriptions.
final class DaemonClient {
  let endpoint: String
  let curve: CurveClientKeys?
  let context: ZMQContext
  private let pirate: LazyPirateClient
  private let eventsOption: String?

  /// `followsEvents` for the commands that declare `--events` (DaemonOptions.events).
  init(_ args: ParsedArguments, followsEvents: Bool = false) throws {
    endpoint = args.string("daemon", default: WireProtocol.defaultClientEndpoint)
    eventsOption = followsEvents ? args.string("events") : nil
    if let server = args.string("curve-server-key") {
      guard let keyFile = args.string("key") else { throw args.usageError("--curve-server-key needs --key FILE (this client's secret certificate)") }
      do {
        let serverKey = Curve.isValidKey(server) ? server : try CurveKeyPair.readPublicKey(file: URL(fileURLWithPath: server))
        curve = CurveClientKeys(serverPublicKey: serverKey, client: try CurveKeyPair.read(secretFile: URL(fileURLWithPath: keyFile)))
      } catch {
        throw CommandLineError.data("\(error)")
      }
    } else {
      if args.isSet("key") { throw args.usageError("--key takes effect with --curve-server-key") }
      curve = nil
    }
    context = try ZMQContext()
    pirate = try LazyPirateClient(
      configuration: .init(
        endpoint: endpoint, timeoutMilliseconds: try args.int("timeout-ms", range: 1...3_600_000)!, curve: curve),
      context: context)
    let (endpoint, attempts, timeout) = (endpoint, pirate.configuration.attempts, pirate.configuration.timeoutMilliseconds)
    pirate.willRetry = { attempt in
      Log.info("connecting to \(endpoint): no reply in \(timeout) ms, trying again (attempt \(attempt) of \(attempts))")
    }
  }

  /// Sends a request; the daemon's `ok` value, or an error with the exit code the protocol
  /// document assigns (4 unavailable, 3 the request's own errors, 1 the rest).
  func request(_ command: ClientCommand, _ body: [String: JSONValue] = [:]) throws -> JSONValue {
    do {
      return try pirate.request(command, body: body)
    } catch {
      throw Self.commandLineError(error, endpoint: endpoint)
    }
  }

  /// Like `request`, but nil when the daemon answers `not_found` (and, with `tooLargeIsNil`,
  /// `too_large`): for callers that try another command or a smaller request next.
  func requestIfFound(_ command: ClientCommand, _ body: [String: JSONValue], tooLargeIsNil: Bool = false) throws -> JSONValue? {
    do {
      return try pirate.request(command, body: body)
    } catch .server(let e) where e.code == .notFound || (tooLargeIsNil && e.code == .tooLarge) {
      return nil
    } catch {
      throw Self.commandLineError(error, endpoint: endpoint)
    }
  }

  /// The request with a fixed id, retried through daemon restarts for up to `patience`
  /// seconds (for `--wait` loops).
  func patientRequest(_ command: ClientCommand, _ body: [String: JSONValue] = [:], patience: Double = 120) throws -> JSONValue {
    let request = ClientRequest(command: command, body: body)
    let deadline = Date().addingTimeInterval(patience)
    while true {
      do {
        switch try pirate.call(request) {
        case .ok(let value): return value
        case .error(let error): throw ClientError.server(error)
        }
      } catch ClientError.unavailable(let message) {
        if Date() > deadline { throw Self.commandLineError(.unavailable(message), endpoint: endpoint) }
        Log.warning("the daemon is not answering; still waiting")
      } catch let error as ClientError {
        throw Self.commandLineError(error, endpoint: endpoint)
      }
    }
  }

  static func commandLineError(_ error: ClientError, endpoint: String) -> CommandLineError {
    switch error {
    case .unavailable(let message):
      return .unavailable("daemon unavailable: \(message)", hint: "Is diswotd running at \(endpoint)? (See Docs/operations.md.)")
    case .server(let e):
      switch e.code {
      case .unavailable: return .unavailable(e.message)
      case .internal: return .failure("the daemon failed: \(e.message)")
      default: return .data("\(e.message) (\(e.code.rawValue))")
      }
    case .invalidRequest(let message): return .data(message)
    case .transport(let e): return .failure(e.description)
    }
  }

  /// The event endpoint: `--events`, else what the daemon reports (with a wildcard host
  /// replaced by the host of `--daemon`).
  func eventEndpoint() throws -> String {
    if let eventsOption { return eventsOption }
    let health = try request(.health)
    guard var events = health.objectValue?["endpoints"]?.objectValue?["events"]?.stringValue else {
      return WireProtocol.defaultEventEndpoint
    }
    for wildcard in ["0.0.0.0", "[::]", "*"] where events.contains("://\(wildcard):") {
      if let host = Self.host(of: endpoint) { events = events.replacingOccurrences(of: "://\(wildcard):", with: "://\(host):") }
    }
    return events
  }

  static func host(of endpoint: String) -> String? {
    guard let scheme = endpoint.range(of: "://") else { return nil }
    let rest = endpoint[scheme.upperBound...]
    guard let colon = rest.lastIndex(of: ":") else { return nil }
    return String(rest[..<colon])
  }

  /// A SUB socket on the daemon's events with `topic` subscribed (compare topics exactly).
  func subscribe(_ topic: String) throws -> ZMQSocket {
    let socket = try ZMQSocket(context, .sub)
    try socket.set(.maxMessageSize(bytes: WireProtocol.maxFrameBytes))
    if let curve {
      try socket.set(.curveClient(serverPublicKey: curve.serverPublicKey, publicKey: curve.client.publicKey, secretKey: curve.client.secretKey))
    }
    try socket.set(.subscribe(Array(topic.utf8)))
    try socket.connect(try eventEndpoint())
    return socket
  }

  /// The next event on `socket` whose topic is exactly `topic`, waiting up to `milliseconds`.
  static func nextEvent(_ socket: ZMQSocket, topic: String, milliseconds: Int) -> [String: JSONValue]? {
    let end = Date().addingTimeInterval(Double(milliseconds) / 1000)
    while true {
      let left = Int(end.timeIntervalSinceNow * 1000)
      guard left > 0, let frames = try? socket.receive(timeoutMilliseconds: left) else { return nil }
      if let event = try? WireMessage.decodeEvent(frames: frames), event.topic == topic { return event.body }
    }
  }
}

/// Making request paths absolute: relative paths are relative to where the client runs,
/// which the daemon cannot know.
enum ClientPaths {
  static func absolute(_ path: String) -> String {
    path.hasPrefix("/") ? path : URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(path).standardizedFileURL.path
  }

  /// `cifar10:DIR` with DIR absolute; `gaussian` unchanged.
  static func absoluteData(_ spec: String) -> String {
    guard let colon = spec.firstIndex(of: ":") else { return spec }
    return String(spec[...colon]) + absolute(String(spec[spec.index(after: colon)...]))
  }

  /// A search-space path made absolute; a bare name unchanged.
  static func absoluteSpace(_ space: String) -> String {
    space.contains("/") || space.hasSuffix(".json") ? absolute(space) : space
  }
}

extension JSONValue {
  /// A member of an object, or null.
  subscript(_ key: String) -> JSONValue { objectValue?[key] ?? .null }

  /// The JSON value of an Encodable (sorted keys).
  static func encoding<T: Encodable>(_ value: T) throws -> JSONValue {
    guard let json = JSONValue.parse(Array(try JSONText.data(value))) else { throw CommandLineError.failure("cannot encode \(T.self)") }
    return json
  }
}
