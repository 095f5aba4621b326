import DiswotJSON
import Foundation

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
