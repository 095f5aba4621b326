import DiswotJSON
import Foundation

/// An event published on the PUB socket: `[topic, tag, body]`.
public struct EventMessage: Sendable, Equatable {
  /// `search.<id>`, `train.<id>`, `teachers.<id>` or `workers`; subscribers filter by prefix.
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
  /// A teacher-ranking job's events.
  public static func teachers(_ id: String) -> String { "teachers.\(id)" }
  /// Workers joining and leaving.
  public static let workers = "workers"
  /// Every search's events.
  public static let allSearches = "search."
  /// Every training job's events.
  public static let allTraining = "train."
}
