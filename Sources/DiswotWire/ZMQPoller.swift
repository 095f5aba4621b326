import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Waits on several sockets at once (`zmq_poll`), as the daemon's loop and the Lazy Pirate
/// client do. The poller keeps its sockets alive; like them, it belongs to one thread.
public struct ZMQPoller {
  /// What to wait for, and what became ready.
  public struct Events: OptionSet, Sendable, Hashable {
    public let rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }
    /// A message can be received without blocking (`ZMQ_POLLIN`).
    public static let readable = Events(rawValue: Int16(ZMQ_POLLIN))
    /// A message can be sent without blocking (`ZMQ_POLLOUT`).
    public static let writable = Events(rawValue: Int16(ZMQ_POLLOUT))
  }

  public private(set) var sockets: [ZMQSocket] = []
  private var interests: [Events] = []

  public init() {}

  /// A poller waiting for `events` on each of `sockets`.
  public init(_ sockets: [ZMQSocket], events: Events = .readable) {
    for socket in sockets { add(socket, events: events) }
  }

  /// Adds a socket; returns its index in `poll`'s result.
  @discardableResult
  public mutating func add(_ socket: ZMQSocket, events: Events = .readable) -> Int {
    sockets.append(socket)
    interests.append(events)
    return sockets.count - 1
  }

  /// Waits up to `timeoutMilliseconds` (-1: forever, 0: just check) until some socket is
  /// ready; returns, per socket in `sockets` order, the events that are ready (empty for
  /// the others; all empty on timeout or when a signal interrupted the wait).
  /// Throws `ENOTSOCK` if a socket was closed, `isTerminated` if the context was.
  public func poll(timeoutMilliseconds: Int) throws(ZMQError) -> [Events] {
    try poll(timeoutMilliseconds: timeoutMilliseconds, descriptors: []).sockets
  }

  /// Waits on the sockets and also on plain file descriptors (`zmq_poll` takes both), so
  /// one loop serves ZeroMQ and, say, a TCP listener of its own (`diswotd --http`).
  public func poll(
    timeoutMilliseconds: Int, descriptors: [(descriptor: Int32, events: Events)]
  ) throws(ZMQError) -> (sockets: [Events], descriptors: [Events]) {
    var items: [zmq_pollitem_t] = []
    items.reserveCapacity(sockets.count + descriptors.count)
    for (socket, events) in zip(sockets, interests) {
      let handle = try socket.open("zmq_poll")
      items.append(zmq_pollitem_t(socket: handle, fd: 0, events: events.rawValue, revents: 0))
    }
    for (fd, events) in descriptors {
      items.append(zmq_pollitem_t(socket: nil, fd: fd, events: events.rawValue, revents: 0))
    }
    let rc = items.withUnsafeMutableBufferPointer { buffer in
      zmq_poll(buffer.baseAddress, Int32(buffer.count), max(timeoutMilliseconds, -1))
    }
    if rc < 0 {
      let error = ZMQError.last("zmq_poll")
      if error.isInterrupted {
        return (Array(repeating: [], count: sockets.count), Array(repeating: [], count: descriptors.count))
      }
      throw error
    }
    let ready = items.map { Events(rawValue: $0.revents) }
    return (Array(ready[..<sockets.count]), Array(ready[sockets.count...]))
  }
}
