import DiswotJSON
import Foundation

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

/// A typed worker-message body: which command carries it, how to read and write it.
/// Readers check every field they use and ignore fields they do not know (see the
/// versioning rules in Docs/protocol.md).
public protocol WorkerPayload: Sendable {
  static var command: WorkerCommand { get }
  init(body: [String: JSONValue]) throws(ProtocolError)
  var body: [String: JSONValue] { get }
}
