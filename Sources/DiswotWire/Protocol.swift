import DiswotJSON
import Foundation

// The diswot wire protocol, version 1 ("DISWOT1"): its constants, commands, error codes,
// message layouts, strict decoders and encoders, in one file (as the zguide keeps MDP in
// mdp.h). Docs/protocol.md is the prose form; the two change together.
//
// Sockets (defaults; the daemon binds, everyone else connects):
//   clients  DEALER or REQ → ROUTER tcp://127.0.0.1:5555  [tag, command, request id, body]
//   workers  DEALER        → ROUTER tcp://127.0.0.1:5556  [tag, command, body]
//   events   SUB           ← PUB    tcp://127.0.0.1:5557  [topic, tag, body]
// Every body is one JSON object in UTF-8.

// MARK: - Constants

/// The protocol's constants. Durations are in milliseconds, sizes in bytes.
public enum WireProtocol {
  /// Protocol tag, the first content frame of every client and worker message and the
  /// second frame of every event. The version is part of the tag: a change that old peers
  /// cannot ignore gets a new tag (`DISWOT2`).
  public static let tag = "DISWOT1"
  /// What every version's tag starts with; a tag with this prefix but another version is
  /// answered with `version_mismatch`, anything else with `bad_request`.
  public static let tagPrefix = "DISWOT"
  /// `tag` as a frame.
  public static let tagFrame: [UInt8] = Array(tag.utf8)

  /// Worker and daemon each send a HEARTBEAT when they have sent nothing else for this long
  /// (the Paranoid Pirate pattern's HEARTBEAT_INTERVAL), in milliseconds.
  public static let heartbeatIntervalMilliseconds = 1_000
  /// Heartbeat intervals without any message after which a peer is dead (HEARTBEAT_LIVENESS):
  /// the daemon then re-queues the worker's tasks; the worker reconnects.
  public static let heartbeatLiveness = 3
  /// A worker's first reconnection delay after losing the daemon, in milliseconds; doubled on
  /// each failure (INTERVAL_INIT).
  public static let reconnectIntervalInitialMilliseconds = 1_000
  /// The largest reconnection delay, in milliseconds (INTERVAL_MAX).
  public static let reconnectIntervalMaxMilliseconds = 32_000

  /// How long a Lazy Pirate client waits for each attempt's reply, in milliseconds
  /// (REQUEST_TIMEOUT).
  public static let requestTimeoutMilliseconds = 2_500
  /// Attempts a Lazy Pirate client makes, the first included, before reporting the daemon
  /// unavailable (the zguide's REQUEST_RETRIES).
  public static let requestAttempts = 3

  /// Largest body frame, in bytes (1 MiB); a larger body is answered with `too_large`.
  public static let maxBodyBytes = 1 << 20
  /// Largest frame the daemon's ROUTER sockets accept at all (ZMQ_MAXMSGSIZE), in bytes
  /// (2 MiB); a peer sending a larger frame is disconnected by ZeroMQ without an answer.
  public static let maxFrameBytes = 2 << 20
  /// Largest request id, in bytes (printable ASCII, no spaces).
  public static let maxRequestIDBytes = 64
  /// Largest command frame and event topic, in bytes.
  public static let maxCommandBytes = 64
  public static let maxTopicBytes = 256
  /// Deepest nesting of arrays and objects a body may have.
  public static let maxJSONDepth = 64

  /// Default endpoints (loopback: reaching the daemon from another host needs an explicit
  /// address and, sensibly, CURVE).
  public static let defaultClientEndpoint = "tcp://127.0.0.1:5555"
  public static let defaultWorkerEndpoint = "tcp://127.0.0.1:5556"
  public static let defaultEventEndpoint = "tcp://127.0.0.1:5557"
  /// The ZAP domain the daemon's CURVE server sockets use.
  public static let zapDomain = "diswot"

  /// The software version peers report (`version` command, READY).
  public static let softwareVersion = "0.6.0"

  /// A fresh request id (a lowercase UUID).
  public static func newRequestID() -> String { UUID().uuidString.lowercased() }

  /// Whether `bytes` is a valid request id: 1–64 bytes of printable ASCII without spaces.
  public static func isValidRequestID(_ bytes: some Collection<UInt8>) -> Bool {
    (1...maxRequestIDBytes).contains(bytes.count) && bytes.allSatisfy { (0x21...0x7E).contains($0) }
  }
}

// MARK: - Commands and error codes

/// What a client asks the daemon (frame 2 of a client request).
public enum ClientCommand: String, Sendable, CaseIterable, Codable {
  case searchStart = "search.start"
  case searchStatus = "search.status"
  case searchList = "search.list"
  case searchBest = "search.best"
  case searchCancel = "search.cancel"
  case searchPause = "search.pause"
  case searchResume = "search.resume"
  case trainStart = "train.start"
  case trainStatus = "train.status"
  case trainCancel = "train.cancel"
  case workers
  case health
  case version
}

/// Worker ↔ daemon commands (frame 2 of a worker message).
public enum WorkerCommand: String, Sendable, CaseIterable, Codable {
  /// worker → daemon, first message on a connection: capabilities, threads, version.
  case ready = "READY"
  /// both ways, whenever nothing else was sent for a heartbeat interval.
  case heartbeat = "HEARTBEAT"
  /// daemon → worker: candidates to score.
  case task = "TASK"
  /// worker → daemon: the scores of a TASK's candidates.
  case result = "RESULT"
  /// daemon → worker: a training job.
  case train = "TRAIN"
  /// worker → daemon: progress of a training job.
  case progress = "PROGRESS"
  /// worker → daemon: a training job ended.
  case done = "DONE"
  /// daemon → worker: stop a TASK or TRAIN job (the search or job was cancelled or paused).
  case cancel = "CANCEL"
  /// both ways: the sender is going away (or, from the daemon, the worker must reconnect).
  case disconnect = "DISCONNECT"
}

/// Why a request failed: the `code` of an error reply.
public enum ErrorCode: String, Sendable, CaseIterable, Codable {
  /// The frames are not a request: wrong count, bad request id, unknown tag, non-object body.
  case badRequest = "bad_request"
  /// The command frame names no command of this version.
  case unknownCommand = "unknown_command"
  /// The body is not UTF-8 JSON (or nests deeper than `maxJSONDepth`).
  case invalidJSON = "invalid_json"
  /// The body exceeds `maxBodyBytes`.
  case tooLarge = "too_large"
  /// The search, job or other object named does not exist.
  case notFound = "not_found"
  /// A body field is missing, of the wrong type or out of range.
  case invalidArgument = "invalid_argument"
  /// The daemon cannot do it now (shutting down, no workers, queue full); retry later.
  case unavailable
  /// A bug or unexpected failure in the daemon.
  case `internal`
  /// The request's tag names another protocol version.
  case versionMismatch = "version_mismatch"
}

/// An error as it travels in a reply body: `{"code": "…", "message": "…"}`.
public struct WireError: Error, Sendable, Equatable, CustomStringConvertible {
  public var code: ErrorCode
  /// One human-readable line.
  public var message: String

  public init(_ code: ErrorCode, _ message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { "\(code.rawValue): \(message)" }
  public var json: JSONValue { ["code": .string(code.rawValue), "message": .string(message)] }
}

/// Frames that break the protocol, with the error code to answer with.
public struct ProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
  public var code: ErrorCode
  public var message: String
  /// The request id, when the frames held a valid one (so the error reply can be matched).
  public var requestID: String?
  /// The command frame as sent, when it was UTF-8 text (echoed in the error reply).
  public var command: String?

  public init(_ code: ErrorCode, _ message: String, requestID: String? = nil, command: String? = nil) {
    self.code = code
    self.message = message
    self.requestID = requestID
    self.command = command
  }

  public var description: String { "\(code.rawValue): \(message)" }
  public var wireError: WireError { WireError(code, message) }
  /// The error reply a server sends for a request that failed to decode (empty request id
  /// and command when the frames did not hold them).
  public var reply: ClientReply {
    ClientReply(command: command ?? "", requestID: requestID ?? "", body: .error(wireError))
  }
}

// MARK: - Messages

/// A client's request: `[tag, command, request id, body]`.
public struct ClientRequest: Sendable, Equatable {
  public var command: ClientCommand
  /// Chosen by the client, unique per logical request and the same on every retry.
  public var requestID: String
  public var body: [String: JSONValue]

  public init(command: ClientCommand, requestID: String = WireProtocol.newRequestID(), body: [String: JSONValue] = [:]) {
    self.command = command
    self.requestID = requestID
    self.body = body
  }
}

/// The body of a reply: `{"ok": value}` or `{"error": {"code": …, "message": …}}`.
public enum ReplyBody: Sendable, Equatable {
  case ok(JSONValue)
  case error(WireError)

  public var json: JSONValue {
    switch self {
    case .ok(let value): ["ok": value]
    case .error(let error): ["error": error.json]
    }
  }

  /// Reads a reply body. An error code this version does not know becomes `internal`, with
  /// the original code kept in the message.
  public init(json object: [String: JSONValue]) throws(ProtocolError) {
    switch (object["ok"], object["error"]) {
    case (let value?, nil):
      self = .ok(value)
    case (nil, let error?):
      guard let fields = error.objectValue else {
        throw ProtocolError(.badRequest, "reply field 'error' must be an object, not \(error.typeName)")
      }
      guard let codeText = fields["code"]?.stringValue else {
        throw ProtocolError(.badRequest, "reply field 'error.code' must be a string")
      }
      guard let message = fields["message"]?.stringValue else {
        throw ProtocolError(.badRequest, "reply field 'error.message' must be a string")
      }
      if let code = ErrorCode(rawValue: codeText) {
        self = .error(WireError(code, message))
      } else {
        self = .error(WireError(.internal, "(\(codeText)) \(message)"))
      }
    default:
      throw ProtocolError(.badRequest, "a reply body has exactly one of 'ok' and 'error'")
    }
  }
}

/// The daemon's reply: `[tag, command, request id, body]`, echoing the request's command and
/// id (both empty when the request was too malformed to hold them).
public struct ClientReply: Sendable, Equatable {
  /// The request's command text as sent (it may be one this version does not know).
  public var command: String
  public var requestID: String
  public var body: ReplyBody

  public init(command: String, requestID: String, body: ReplyBody) {
    self.command = command
    self.requestID = requestID
    self.body = body
  }

  /// The reply to `request`.
  public init(to request: ClientRequest, body: ReplyBody) {
    self.init(command: request.command.rawValue, requestID: request.requestID, body: body)
  }
}

/// A worker ↔ daemon message: `[tag, command, body]`.
public struct WorkerMessage: Sendable, Equatable {
  public var command: WorkerCommand
  public var body: [String: JSONValue]

  public init(command: WorkerCommand, body: [String: JSONValue] = [:]) {
    self.command = command
    self.body = body
  }

  /// The message carrying a typed body.
  public init(_ payload: some WorkerPayload) {
    self.init(command: type(of: payload).command, body: payload.body)
  }

  /// The typed body, checking that the command matches.
  public func decode<P: WorkerPayload>(_ type: P.Type) throws(ProtocolError) -> P {
    guard command == P.command else {
      throw ProtocolError(.badRequest, "expected \(P.command.rawValue), got \(command.rawValue)")
    }
    return try P(body: body)
  }

  /// A HEARTBEAT (empty body).
  public static let heartbeat = WorkerMessage(command: .heartbeat)
}

/// An event published on the PUB socket: `[topic, tag, body]`.
public struct EventMessage: Sendable, Equatable {
  /// `search.<id>`, `train.<id>` or `workers`; subscribers filter by prefix.
  public var topic: String
  /// An object whose `event` field names the kind of event.
  public var body: [String: JSONValue]

  public init(topic: String, body: [String: JSONValue]) {
    self.topic = topic
    self.body = body
  }
}

/// Event topics. ZeroMQ subscriptions match prefixes, so `search.1` also receives
/// `search.12`: subscribe to the prefix and compare the topic frame exactly.
public enum EventTopic {
  public static func search(_ id: String) -> String { "search.\(id)" }
  public static func train(_ id: String) -> String { "train.\(id)" }
  /// Workers joining and leaving.
  public static let workers = "workers"
  /// Every search's events.
  public static let allSearches = "search."
  /// Every training job's events.
  public static let allTraining = "train."
}

// MARK: - Envelopes

/// The routing frames a ROUTER socket puts before a message's content.
///
/// A ROUTER prepends one identity frame per hop. diswotd's ROUTERs face their peers
/// directly, so a message has one identity frame, then:
/// - from a DEALER peer: the content (`[identity, tag, …]`);
/// - from a REQ peer: an empty delimiter frame, then the content (`[identity, "", tag, …]`).
/// Content never starts with an empty frame (the tag is not empty), so the two are told
/// apart by that frame. Replies go back with the same envelope (`wrap`): a REQ peer needs
/// the delimiter, a DEALER peer must not get it.
public struct Envelope: Sendable, Hashable {
  /// Identity frames, the direct peer's first.
  public var identities: [[UInt8]]
  /// Whether the peer is a REQ socket (an empty delimiter follows the identities).
  public var hasDelimiter: Bool

  public init(identities: [[UInt8]], hasDelimiter: Bool) {
    self.identities = identities
    self.hasDelimiter = hasDelimiter
  }

  /// An envelope for one DEALER-style peer.
  public init(identity: [UInt8]) { self.init(identities: [identity], hasDelimiter: false) }

  /// The direct peer's identity (the key of per-peer state such as a worker's liveness).
  public var identity: [UInt8] { identities.first ?? [] }

  /// Splits a message received on a ROUTER socket into `hops` identity frames (1 for
  /// directly connected peers), an optional delimiter and the content. Nil when there are
  /// not enough frames or an identity frame is empty.
  public static func split(_ frames: [[UInt8]], hops: Int = 1) -> (envelope: Envelope, content: [[UInt8]])? {
    guard hops >= 1, frames.count >= hops else { return nil }
    let identities = Array(frames[0..<hops])
    guard identities.allSatisfy({ !$0.isEmpty }) else { return nil }
    let delimited = frames.count > hops && frames[hops].isEmpty
    let content = Array(frames[(hops + (delimited ? 1 : 0))...])
    return (Envelope(identities: identities, hasDelimiter: delimited), content)
  }

  /// `content` addressed back through this envelope.
  public func wrap(_ content: [[UInt8]]) -> [[UInt8]] {
    identities + (hasDelimiter ? [[]] : []) + content
  }
}

// MARK: - Strict decoding and encoding

/// Encoders and strict decoders for every message of the protocol.
///
/// Decoders accept any frame list and either return a message or throw a `ProtocolError`
/// carrying the `ErrorCode` to answer with; they never trap, whatever the bytes. Checks run
/// in a fixed order (frame count, tag, request id, command, body size, UTF-8, JSON depth,
/// JSON syntax, object-ness), so a given input always yields the same error.
public enum WireMessage {
  // MARK: Client ↔ daemon

  /// `[tag, command, request id, body]`.
  public static func encode(_ request: ClientRequest) -> [[UInt8]] {
    [WireProtocol.tagFrame, Array(request.command.rawValue.utf8), Array(request.requestID.utf8), encodeBody(request.body)]
  }

  /// `[tag, command, request id, body]`.
  public static func encode(_ reply: ClientReply) -> [[UInt8]] {
    [WireProtocol.tagFrame, Array(reply.command.utf8), Array(reply.requestID.utf8), encodeJSON(reply.body.json)]
  }

  /// Decodes a request's content frames (the envelope already removed, see `Envelope`).
  public static func decodeClientRequest(frames: [[UInt8]]) throws(ProtocolError) -> ClientRequest {
    guard frames.count == 4 else {
      throw ProtocolError(.badRequest, "a request has 4 frames [tag, command, request id, body], got \(frames.count)")
    }
    try checkTagFamily(frames[0])
    guard WireProtocol.isValidRequestID(frames[2]) else {
      throw ProtocolError(.badRequest, "the request id must be 1-\(WireProtocol.maxRequestIDBytes) bytes of printable ASCII without spaces")
    }
    let requestID = String(decoding: frames[2], as: UTF8.self)
    let commandText = text(frames[1], max: WireProtocol.maxCommandBytes)
    try checkTagVersion(frames[0], requestID: requestID, command: commandText)
    guard let commandText, let command = ClientCommand(rawValue: commandText) else {
      throw ProtocolError(
        .unknownCommand, "unknown command '\(printable(frames[1]))' (known: \(ClientCommand.allCases.map(\.rawValue).joined(separator: ", ")))",
        requestID: requestID, command: commandText)
    }
    do {
      return ClientRequest(command: command, requestID: requestID, body: try decodeBody(frames[3]))
    } catch {
      throw ProtocolError(error.code, error.message, requestID: requestID, command: commandText)
    }
  }

  /// Decodes a reply's frames (as a DEALER receives them; a REQ socket removes the delimiter).
  public static func decodeClientReply(frames: [[UInt8]]) throws(ProtocolError) -> ClientReply {
    guard frames.count == 4 else {
      throw ProtocolError(.badRequest, "a reply has 4 frames [tag, command, request id, body], got \(frames.count)")
    }
    try checkTagFamily(frames[0])
    try checkTagVersion(frames[0], requestID: nil, command: nil)
    guard frames[2].isEmpty || WireProtocol.isValidRequestID(frames[2]) else {
      throw ProtocolError(.badRequest, "the reply's request id is not printable ASCII of at most \(WireProtocol.maxRequestIDBytes) bytes")
    }
    guard let command = text(frames[1], max: WireProtocol.maxCommandBytes) else {
      throw ProtocolError(.badRequest, "the reply's command frame is not UTF-8 text of at most \(WireProtocol.maxCommandBytes) bytes")
    }
    let requestID = String(decoding: frames[2], as: UTF8.self)
    let body = try ReplyBody(json: try decodeBody(frames[3]))
    if requestID.isEmpty, case .ok = body {
      throw ProtocolError(.badRequest, "a successful reply must carry its request id")
    }
    return ClientReply(command: command, requestID: requestID, body: body)
  }

  // MARK: Worker ↔ daemon

  /// `[tag, command, body]`.
  public static func encode(_ message: WorkerMessage) -> [[UInt8]] {
    [WireProtocol.tagFrame, Array(message.command.rawValue.utf8), encodeBody(message.body)]
  }

  /// Decodes a worker message's content frames (either direction; the envelope removed).
  /// The body's fields are checked by `WorkerMessage.decode(_:)`.
  public static func decodeWorkerMessage(frames: [[UInt8]]) throws(ProtocolError) -> WorkerMessage {
    guard frames.count == 3 else {
      throw ProtocolError(.badRequest, "a worker message has 3 frames [tag, command, body], got \(frames.count)")
    }
    try checkTagFamily(frames[0])
    let commandText = text(frames[1], max: WireProtocol.maxCommandBytes)
    try checkTagVersion(frames[0], requestID: nil, command: commandText)
    guard let commandText, let command = WorkerCommand(rawValue: commandText) else {
      throw ProtocolError(
        .unknownCommand, "unknown worker command '\(printable(frames[1]))' (known: \(WorkerCommand.allCases.map(\.rawValue).joined(separator: ", ")))",
        command: commandText)
    }
    do {
      return WorkerMessage(command: command, body: try decodeBody(frames[2]))
    } catch {
      throw ProtocolError(error.code, "\(commandText): \(error.message)", command: commandText)
    }
  }

  // MARK: Events

  /// `[topic, tag, body]`.
  public static func encode(_ event: EventMessage) -> [[UInt8]] {
    [Array(event.topic.utf8), WireProtocol.tagFrame, encodeBody(event.body)]
  }

  /// Decodes an event as a SUB socket receives it.
  public static func decodeEvent(frames: [[UInt8]]) throws(ProtocolError) -> EventMessage {
    guard frames.count == 3 else {
      throw ProtocolError(.badRequest, "an event has 3 frames [topic, tag, body], got \(frames.count)")
    }
    guard !frames[0].isEmpty, let topic = text(frames[0], max: WireProtocol.maxTopicBytes) else {
      throw ProtocolError(.badRequest, "an event topic is 1-\(WireProtocol.maxTopicBytes) bytes of UTF-8")
    }
    try checkTagFamily(frames[1])
    try checkTagVersion(frames[1], requestID: nil, command: nil)
    return EventMessage(topic: topic, body: try decodeBody(frames[2]))
  }

  // MARK: Bodies

  /// Compact UTF-8 JSON of an object body (sorted keys; NaN and infinities become null,
  /// which JSON cannot express: `JSONText`'s rule for every JSON diswot writes).
  public static func encodeBody(_ object: [String: JSONValue]) -> [UInt8] { encodeJSON(.object(object)) }

  /// Compact UTF-8 JSON of any value, non-finite numbers as null.
  public static func encodeJSON(_ value: JSONValue) -> [UInt8] { Array(value.compactText.utf8) }

  /// Checks and parses a body frame: at most `maxBodyBytes` (`too_large`), UTF-8 JSON
  /// nested at most `maxJSONDepth` deep (`invalid_json`), an object (`bad_request`).
  public static func decodeBody(_ bytes: [UInt8]) throws(ProtocolError) -> [String: JSONValue] {
    guard bytes.count <= WireProtocol.maxBodyBytes else {
      throw ProtocolError(.tooLarge, "the body is \(bytes.count) bytes, over the limit of \(WireProtocol.maxBodyBytes)")
    }
    guard String(validating: bytes, as: UTF8.self) != nil else {
      throw ProtocolError(.invalidJSON, "the body is not valid UTF-8")
    }
    guard let depth = nestingDepth(bytes), depth <= WireProtocol.maxJSONDepth else {
      throw ProtocolError(.invalidJSON, "the body nests arrays and objects deeper than \(WireProtocol.maxJSONDepth) levels")
    }
    guard let value = JSONValue.parse(bytes) else {
      throw ProtocolError(.invalidJSON, bytes.isEmpty ? "the body is empty; send {} for no arguments" : "the body is not valid JSON")
    }
    guard let object = value.objectValue else {
      throw ProtocolError(.badRequest, "the body must be a JSON object, not \(value.typeName)")
    }
    return object
  }

  // MARK: Helpers

  /// Rejects frames that are not a tag of this protocol family at all.
  private static func checkTagFamily(_ frame: [UInt8]) throws(ProtocolError) {
    guard frame.count <= 32, frame.starts(with: WireProtocol.tagPrefix.utf8) else {
      throw ProtocolError(.badRequest, "not a diswot message: the tag frame is '\(printable(frame))', expected '\(WireProtocol.tag)'")
    }
  }

  /// Rejects tags of another version of the protocol.
  private static func checkTagVersion(_ frame: [UInt8], requestID: String?, command: String?) throws(ProtocolError) {
    guard frame == WireProtocol.tagFrame else {
      throw ProtocolError(
        .versionMismatch, "protocol '\(printable(frame))' is not supported; this peer speaks \(WireProtocol.tag)",
        requestID: requestID, command: command)
    }
  }

  /// The frame as text, when it is UTF-8 of at most `max` bytes.
  private static func text(_ frame: [UInt8], max: Int) -> String? {
    guard frame.count <= max else { return nil }
    return String(validating: frame, as: UTF8.self)
  }

  /// A frame shown in an error message: at most 40 bytes, non-printable bytes as `\xNN`.
  static func printable(_ frame: [UInt8]) -> String {
    var out = ""
    for byte in frame.prefix(40) {
      if (0x20...0x7E).contains(byte), byte != UInt8(ascii: "\\"), byte != UInt8(ascii: "'") {
        out.unicodeScalars.append(Unicode.Scalar(byte))
      } else {
        out += "\\x" + String(byte, radix: 16).leftPadded(to: 2)
      }
    }
    return frame.count > 40 ? out + "…" : out
  }

  /// The deepest nesting of `[`/`{` outside strings; nil for unbalanced closers.
  static func nestingDepth(_ bytes: [UInt8]) -> Int? {
    var depth = 0, deepest = 0
    var inString = false, escaped = false
    for byte in bytes {
      if inString {
        if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
        continue
      }
      switch byte {
      case UInt8(ascii: "\""): inString = true
      case UInt8(ascii: "["), UInt8(ascii: "{"):
        depth += 1
        deepest = max(deepest, depth)
        if deepest > WireProtocol.maxJSONDepth { return deepest }
      case UInt8(ascii: "]"), UInt8(ascii: "}"):
        depth -= 1
        if depth < 0 { return nil }
      default: break
      }
    }
    return deepest
  }
}

extension String {
  fileprivate func leftPadded(to width: Int) -> String {
    count >= width ? self : String(repeating: "0", count: width - count) + self
  }
}

// MARK: - Worker payloads

/// A typed worker-message body: which command carries it, how to read and write it.
/// Readers check every field they use and ignore fields they do not know (see the
/// versioning rules in Docs/protocol.md).
public protocol WorkerPayload: Sendable {
  static var command: WorkerCommand { get }
  init(body: [String: JSONValue]) throws(ProtocolError)
  var body: [String: JSONValue] { get }
}

/// READY: `{"version": "…", "capabilities": ["score", "train"], "threads": 2, "name": "…"}`.
public struct WorkerReady: WorkerPayload, Equatable {
  public static let command = WorkerCommand.ready
  /// The worker's software version (informational; the tag carries the protocol version).
  public var version: String
  /// What the worker can do: `score` (TASK), `train` (TRAIN); unknown entries are kept.
  public var capabilities: [String]
  /// Threads the worker computes with (the daemon sizes TASKs by it).
  public var threads: Int
  /// A human-readable name (host name, …), for `workers` listings.
  public var name: String?

  public init(version: String, capabilities: [String], threads: Int, name: String? = nil) {
    self.version = version
    self.capabilities = capabilities
    self.threads = threads
    self.name = name
  }

  public init(body: [String: JSONValue]) throws(ProtocolError) {
    let f = Fields(body, "READY")
    version = try f.string("version", maxBytes: 128)
    capabilities = try f.stringArray("capabilities", maxCount: 32)
    threads = try f.int("threads", in: 1...4096)
    name = try f.optionalString("name", maxBytes: 256)
  }

  public var body: [String: JSONValue] {
    var body: [String: JSONValue] = [
      "version": .string(version), "capabilities": .array(capabilities.map(JSONValue.string)), "threads": .int(threads),
    ]
    if let name { body["name"] = .string(name) }
    return body
  }
}

/// HEARTBEAT: `{}`.
public struct WorkerHeartbeat: WorkerPayload, Equatable {
  public static let command = WorkerCommand.heartbeat
  public init() {}
  public init(body: [String: JSONValue]) throws(ProtocolError) {}
  public var body: [String: JSONValue] { [:] }
}

/// One architecture to score: its canonical key and genotype JSON.
public struct TaskCandidate: Sendable, Equatable {
  public var key: String
  /// The genotype's JSON form (`SearchSpace.json(of:)`), an object.
  public var genotype: JSONValue

  public init(key: String, genotype: JSONValue) {
    self.key = key
    self.genotype = genotype
  }
}

/// TASK: `{"task_id": "…", "search_id": "…", "scoring": {ScoringSpec}, "candidates": [{"key": "…", "genotype": {…}}]}`.
public struct WorkerTask: WorkerPayload, Equatable {
  public static let command = WorkerCommand.task
  public var taskID: String
  public var searchID: String
  /// The search's `ScoringSpec` as JSON (see Docs/protocol.md); workers cache the session
  /// it builds by its compact text.
  public var scoring: [String: JSONValue]
  public var candidates: [TaskCandidate]

  public init(taskID: String, searchID: String, scoring: [String: JSONValue], candidates: [TaskCandidate]) {
    self.taskID = taskID
    self.searchID = searchID
    self.scoring = scoring
    self.candidates = candidates
  }

  public init(body: [String: JSONValue]) throws(ProtocolError) {
    let f = Fields(body, "TASK")
    taskID = try f.identifier("task_id")
    searchID = try f.identifier("search_id")
    scoring = try f.object("scoring")
    var candidates: [TaskCandidate] = []
    let items = try f.array("candidates", count: 1...10_000)
    for (i, item) in items.enumerated() {
      let c = try Fields.element(item, "TASK", "candidates[\(i)]")
      candidates.append(TaskCandidate(key: try c.string("key", maxBytes: 1024), genotype: .object(try c.object("genotype"))))
    }
    self.candidates = candidates
  }

  public var body: [String: JSONValue] {
    [
      "task_id": .string(taskID), "search_id": .string(searchID), "scoring": .object(scoring),
      "candidates": .array(candidates.map { ["key": .string($0.key), "genotype": $0.genotype] }),
    ]
  }
}

/// One candidate's outcome in a RESULT: scores, or an error.
public struct CandidateResult: Sendable, Equatable {
  public var key: String
  /// Proxy name → score (`diswot`, `nwot`, …); a null on the wire (a non-finite score) is NaN.
  public var scores: [String: Double]
  public var params: Int?
  public var macs: Int?
  /// Wall-clock seconds the worker spent on this candidate.
  public var seconds: Double
  /// Why the candidate could not be scored (then `scores` is empty).
  public var error: WireError?

  public init(key: String, scores: [String: Double], params: Int? = nil, macs: Int? = nil, seconds: Double, error: WireError? = nil) {
    self.key = key
    self.scores = scores
    self.params = params
    self.macs = macs
    self.seconds = seconds
    self.error = error
  }

  /// NaN-aware equality (a NaN score equals a NaN score), so decoded results compare.
  public static func == (a: CandidateResult, b: CandidateResult) -> Bool {
    a.key == b.key && a.params == b.params && a.macs == b.macs && a.error == b.error
      && (a.seconds == b.seconds || (a.seconds.isNaN && b.seconds.isNaN))
      && a.scores.count == b.scores.count
      && a.scores.allSatisfy { name, x in b.scores[name].map { $0 == x || ($0.isNaN && x.isNaN) } ?? false }
  }
}

/// RESULT: `{"task_id": "…", "results": [{"key": "…", "scores": {"diswot": -1.2}, "params": 1, "macs": 2, "seconds": 0.5}
/// | {"key": "…", "error": {"code": "…", "message": "…"}, "seconds": 0.1}]}`.
public struct TaskResult: WorkerPayload, Equatable {
  public static let command = WorkerCommand.result
  public var taskID: String
  public var results: [CandidateResult]

  public init(taskID: String, results: [CandidateResult]) {
    self.taskID = taskID
    self.results = results
  }

  public init(body: [String: JSONValue]) throws(ProtocolError) {
    let f = Fields(body, "RESULT")
    taskID = try f.identifier("task_id")
    var results: [CandidateResult] = []
    for (i, item) in try f.array("results", count: 0...10_000).enumerated() {
      let r = try Fields.element(item, "RESULT", "results[\(i)]")
      var result = CandidateResult(key: try r.string("key", maxBytes: 1024), scores: [:], seconds: try r.double("seconds"))
      result.params = try r.optionalInt("params")
      result.macs = try r.optionalInt("macs")
      if let error = try r.optionalObject("error") {
        let e = Fields(error, "RESULT results[\(i)].error")
        let codeText = try e.string("code", maxBytes: 64)
        result.error = WireError(ErrorCode(rawValue: codeText) ?? .internal, try e.string("message", maxBytes: 4096, allowEmpty: true))
      } else {
        for (name, value) in try r.object("scores") {
          switch value {
          case .null: result.scores[name] = .nan
          default:
            guard let x = value.doubleValue else { throw r.fail("scores.\(name)", "must be a number or null, not \(value.typeName)") }
            result.scores[name] = x
          }
        }
      }
      results.append(result)
    }
    self.results = results
  }

  public var body: [String: JSONValue] {
    [
      "task_id": .string(taskID),
      "results": .array(results.map { r in
        var item: [String: JSONValue] = ["key": .string(r.key), "seconds": .double(r.seconds)]
        if let error = r.error {
          item["error"] = error.json
        } else {
          item["scores"] = .object(r.scores.mapValues { .double($0) })
        }
        if let params = r.params { item["params"] = .int(params) }
        if let macs = r.macs { item["macs"] = .int(macs) }
        return .object(item)
      }),
    ]
  }
}

/// TRAIN: `{"job_id": "…", "spec": {TrainingSpec}, "directory": "…"?}`: the trainer's
/// settings (`TrainingSpec` as JSON) and the run directory on the worker's machine, where
/// the worker resumes from the last checkpoint if there is one.
public struct TrainJob: WorkerPayload, Equatable {
  public static let command = WorkerCommand.train
  public var jobID: String
  public var spec: [String: JSONValue]
  /// The run directory (`<state dir>/jobs/<job id>` on the daemon's machine); nil lets the
  /// worker choose (its `--jobs-dir`).
  public var directory: String?

  public init(jobID: String, spec: [String: JSONValue], directory: String? = nil) {
    self.jobID = jobID
    self.spec = spec
    self.directory = directory
  }

  public init(body: [String: JSONValue]) throws(ProtocolError) {
    let f = Fields(body, "TRAIN")
    jobID = try f.identifier("job_id")
    spec = try f.object("spec")
    directory = try f.optionalString("directory", maxBytes: 4096)
  }

  public var body: [String: JSONValue] {
    var body: [String: JSONValue] = ["job_id": .string(jobID), "spec": .object(spec)]
    if let directory { body["directory"] = .string(directory) }
    return body
  }
}

/// CANCEL: `{"task_id": "…"}` or `{"job_id": "…"}`: stop that work. A cancelled TASK needs
/// no RESULT (the daemon ignores one that arrives); a cancelled TRAIN job checkpoints and
/// ends with a DONE carrying an error.
public struct WorkerCancel: WorkerPayload, Equatable {
  public static let command = WorkerCommand.cancel
  public var taskID: String?
  public var jobID: String?

  public init(taskID: String? = nil, jobID: String? = nil) {
    self.taskID = taskID
    self.jobID = jobID
  }

  public init(body: [String: JSONValue]) throws(ProtocolError) {
    let f = Fields(body, "CANCEL")
    taskID = try f.optionalString("task_id", maxBytes: 128)
    jobID = try f.optionalString("job_id", maxBytes: 128)
    guard (taskID == nil) != (jobID == nil) else {
      throw ProtocolError(.invalidArgument, "CANCEL: give exactly one of 'task_id' and 'job_id'")
    }
  }

  public var body: [String: JSONValue] {
    if let taskID { return ["task_id": .string(taskID)] }
    return ["job_id": .string(jobID ?? "")]
  }
}

/// PROGRESS: `{"job_id": "…", "progress": {"epoch": 3, "epochs": 200, "loss": 1.2, …}}`.
public struct JobProgress: WorkerPayload, Equatable {
  public static let command = WorkerCommand.progress
  public var jobID: String
  public var progress: [String: JSONValue]

  public init(jobID: String, progress: [String: JSONValue]) {
    self.jobID = jobID
    self.progress = progress
  }

  public init(body: [String: JSONValue]) throws(ProtocolError) {
    let f = Fields(body, "PROGRESS")
    jobID = try f.identifier("job_id")
    progress = try f.object("progress")
  }

  public var body: [String: JSONValue] { ["job_id": .string(jobID), "progress": .object(progress)] }
}

/// DONE: `{"job_id": "…", "result": {…}}` or `{"job_id": "…", "error": {"code": "…", "message": "…"}}`.
public struct JobDone: WorkerPayload, Equatable {
  public static let command = WorkerCommand.done
  public var jobID: String
  public var outcome: Result<[String: JSONValue], WireError>

  public init(jobID: String, outcome: Result<[String: JSONValue], WireError>) {
    self.jobID = jobID
    self.outcome = outcome
  }

  public init(body: [String: JSONValue]) throws(ProtocolError) {
    let f = Fields(body, "DONE")
    jobID = try f.identifier("job_id")
    if let error = try f.optionalObject("error") {
      let e = Fields(error, "DONE error")
      let codeText = try e.string("code", maxBytes: 64)
      outcome = .failure(WireError(ErrorCode(rawValue: codeText) ?? .internal, try e.string("message", maxBytes: 4096, allowEmpty: true)))
    } else {
      outcome = .success(try f.object("result"))
    }
  }

  public var body: [String: JSONValue] {
    switch outcome {
    case .success(let result): ["job_id": .string(jobID), "result": .object(result)]
    case .failure(let error): ["job_id": .string(jobID), "error": error.json]
    }
  }
}

/// DISCONNECT: `{"reason": "…"}` (reason optional).
public struct WorkerDisconnect: WorkerPayload, Equatable {
  public static let command = WorkerCommand.disconnect
  public var reason: String?

  public init(reason: String? = nil) { self.reason = reason }

  public init(body: [String: JSONValue]) throws(ProtocolError) {
    reason = try Fields(body, "DISCONNECT").optionalString("reason", maxBytes: 4096)
  }

  public var body: [String: JSONValue] { reason.map { ["reason": .string($0)] } ?? [:] }
}

// MARK: - Field checks

/// Reads the fields of a body object, each failure an `invalid_argument` naming the field.
struct Fields {
  let object: [String: JSONValue]
  let context: String

  init(_ object: [String: JSONValue], _ context: String) {
    self.object = object
    self.context = context
  }

  /// The fields of an array element that must be an object.
  static func element(_ value: JSONValue, _ context: String, _ path: String) throws(ProtocolError) -> Fields {
    guard let object = value.objectValue else {
      throw ProtocolError(.invalidArgument, "\(context): \(path) must be an object, not \(value.typeName)")
    }
    return Fields(object, "\(context) \(path)")
  }

  func fail(_ key: String, _ problem: String) -> ProtocolError {
    ProtocolError(.invalidArgument, "\(context): field '\(key)' \(problem)")
  }

  private func required(_ key: String) throws(ProtocolError) -> JSONValue {
    guard let value = object[key], value != .null else { throw fail(key, "is missing") }
    return value
  }

  func string(_ key: String, maxBytes: Int, allowEmpty: Bool = false) throws(ProtocolError) -> String {
    let value = try required(key)
    guard let s = value.stringValue else { throw fail(key, "must be a string, not \(value.typeName)") }
    guard allowEmpty || !s.isEmpty else { throw fail(key, "must not be empty") }
    guard s.utf8.count <= maxBytes else { throw fail(key, "is longer than \(maxBytes) bytes") }
    return s
  }

  func optionalString(_ key: String, maxBytes: Int) throws(ProtocolError) -> String? {
    guard let value = object[key], value != .null else { return nil }
    return try string(key, maxBytes: maxBytes, allowEmpty: true)
  }

  /// An id such as `task_id`: 1–128 bytes of printable ASCII.
  func identifier(_ key: String) throws(ProtocolError) -> String {
    let s = try string(key, maxBytes: 128)
    guard WireProtocol.isValidRequestID(Array(s.utf8)) else { throw fail(key, "must be printable ASCII without spaces") }
    return s
  }

  func int(_ key: String, in range: ClosedRange<Int>) throws(ProtocolError) -> Int {
    let value = try required(key)
    guard let n = value.intValue else { throw fail(key, "must be an integer, not \(value.typeName)") }
    guard range.contains(n) else { throw fail(key, "must be between \(range.lowerBound) and \(range.upperBound), got \(n)") }
    return n
  }

  func optionalInt(_ key: String) throws(ProtocolError) -> Int? {
    guard let value = object[key], value != .null else { return nil }
    guard let n = value.intValue else { throw fail(key, "must be an integer, not \(value.typeName)") }
    return n
  }

  func double(_ key: String) throws(ProtocolError) -> Double {
    let value = try required(key)
    guard let x = value.doubleValue else { throw fail(key, "must be a number, not \(value.typeName)") }
    return x
  }

  func object(_ key: String) throws(ProtocolError) -> [String: JSONValue] {
    let value = try required(key)
    guard let o = value.objectValue else { throw fail(key, "must be an object, not \(value.typeName)") }
    return o
  }

  func optionalObject(_ key: String) throws(ProtocolError) -> [String: JSONValue]? {
    guard let value = object[key], value != .null else { return nil }
    guard let o = value.objectValue else { throw fail(key, "must be an object, not \(value.typeName)") }
    return o
  }

  func array(_ key: String, count: ClosedRange<Int>) throws(ProtocolError) -> [JSONValue] {
    let value = try required(key)
    guard let a = value.arrayValue else { throw fail(key, "must be an array, not \(value.typeName)") }
    guard count.contains(a.count) else { throw fail(key, "must have \(count.lowerBound)-\(count.upperBound) elements, got \(a.count)") }
    return a
  }

  func stringArray(_ key: String, maxCount: Int) throws(ProtocolError) -> [String] {
    var result: [String] = []
    for (i, item) in try array(key, count: 0...maxCount).enumerated() {
      guard let s = item.stringValue, !s.isEmpty, s.utf8.count <= 64 else { throw fail("\(key)[\(i)]", "must be a non-empty string of at most 64 bytes") }
      result.append(s)
    }
    return result
  }
}
