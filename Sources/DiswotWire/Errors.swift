import DiswotJSON
import Foundation

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
