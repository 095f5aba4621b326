import DiswotWire

/// The replies to recent requests, by request id: a client that retries (same id, fresh
/// socket, the Lazy Pirate pattern) gets the first answer again instead of a second
/// execution. Bounded; the oldest entries go first.
struct ReplyCache {
  private var replies: [String: ClientReply] = [:]
  private var order: [String] = []
  private var head = 0
  let capacity: Int

  init(capacity: Int = 4096) { self.capacity = capacity }

  func reply(for requestID: String) -> ClientReply? { replies[requestID] }

  mutating func store(_ reply: ClientReply) {
    guard !reply.requestID.isEmpty else { return }
    if replies.updateValue(reply, forKey: reply.requestID) == nil { order.append(reply.requestID) }
    while order.count - head > capacity {
      replies[order[head]] = nil
      head += 1
    }
    if head > capacity {
      order.removeFirst(head)
      head = 0
    }
  }
}
