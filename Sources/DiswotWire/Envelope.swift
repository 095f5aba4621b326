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
