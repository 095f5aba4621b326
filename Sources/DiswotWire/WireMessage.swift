import DiswotJSON
import Foundation

/// Encoders and strict decoders for every message of the protocol.
///
/// Decoders accept any frame list and either return a message or throw a `ProtocolError`
/// carrying the `ErrorCode` to answer with; they never trap, whatever the bytes. Checks run
/// in a fixed order (frame count, tag, request id, command, body size, UTF-8, JSON syntax
/// and depth, object-ness), so a given input always yields the same error.
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

  /// Checks and parses a body frame: at most `maxBodyBytes` (`too_large`), UTF-8, JSON by
  /// RFC 8259's grammar nested at most `maxJSONDepth` deep (`invalid_json`), an object
  /// (`bad_request`).
  public static func decodeBody(_ bytes: [UInt8]) throws(ProtocolError) -> [String: JSONValue] {
    guard bytes.count <= WireProtocol.maxBodyBytes else {
      throw ProtocolError(.tooLarge, "the body is \(bytes.count) bytes, over the limit of \(WireProtocol.maxBodyBytes)")
    }
    guard String(validating: bytes, as: UTF8.self) != nil else {
      throw ProtocolError(.invalidJSON, "the body is not valid UTF-8")
    }
    guard !bytes.isEmpty else { throw ProtocolError(.invalidJSON, "the body is empty; send {} for no arguments") }
    let value: JSONValue
    do {
      value = try JSONValue.parsing(bytes, maxDepth: WireProtocol.maxJSONDepth)
    } catch {
      throw ProtocolError(
        .invalidJSON,
        error.isTooDeep
          ? "the body nests arrays and objects deeper than \(WireProtocol.maxJSONDepth) levels"
          : "the body is not valid JSON (RFC 8259): \(error)")
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
}

extension String {
  fileprivate func leftPadded(to width: Int) -> String {
    count >= width ? self : String(repeating: "0", count: width - count) + self
  }
}
