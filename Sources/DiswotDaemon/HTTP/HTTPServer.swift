import DiswotLog

#if canImport(Glibc)
  import Glibc
  private let sendFlags = Int32(MSG_NOSIGNAL)
  private let streamType = Int32(SOCK_STREAM.rawValue)
#elseif canImport(Darwin)
  import Darwin
  private let sendFlags: Int32 = 0
  private let streamType = SOCK_STREAM
#endif

/// A minimal HTTP/1.1 server for `diswotd --http`, driven by the daemon's own loop: no
/// thread of its own, so a page reads the daemon's state on the thread that owns it. The
/// loop polls `pollItems()` beside its ZeroMQ sockets (`zmq_poll` takes plain descriptors)
/// and hands what became ready to `service`; every socket is non-blocking, so no client
/// can stall the loop.
///
/// Bounded in memory and time whatever clients do: at most `maxConnections` at once (the
/// listener is not polled while full; the kernel's backlog holds the rest), a head of at
/// most `maxHead` bytes (431), `headTimeout` to send it (408: slowloris-style dribbling is
/// cut off), `writeTimeout` to take the response (a client that does not read is dropped).
/// One request per connection, answered and closed.
final class HTTPServer {
  static let maxConnections = 32
  static let maxHead = 8192
  static let headTimeoutMilliseconds = 10_000
  static let writeTimeoutMilliseconds = 30_000

  private struct Connection {
    var accepted: Int
    var input: [UInt8] = []
    var output: [UInt8] = []
    var written = 0
    /// Set once a response is queued: reading stops, writing starts.
    var responding = false
    var respondedAt = 0
    /// Response sent and half-closed: the client's remaining bytes are read and dropped
    /// until it closes (a lingering close), so they cannot reset the connection before
    /// the client has read the response.
    var draining = false
  }

  /// How long a drained connection may keep sending before it is closed regardless.
  static let drainMilliseconds = 2_000

  private let listener: Int32
  let address: HTTPAddress
  /// `http://HOST:PORT`, the port resolved.
  let url: String
  private var connections: [Int32: Connection] = [:]
  /// Out of descriptors (EMFILE/ENFILE): the listener stays readable but cannot be served,
  /// so it is left out of the poll until a connection closes or a second has passed (when
  /// it was some other part of the daemon that took them), instead of spinning the loop.
  private var acceptPausedAt: Int?
  private let handler: (HTTPRequest) -> HTTPResponse

  init(address: HTTPAddress, handler: @escaping (HTTPRequest) -> HTTPResponse) throws(DaemonError) {
    self.address = address
    self.handler = handler
    let fd = socket(address.family, streamType, 0)
    guard fd >= 0 else { throw .failure("cannot open the HTTP socket: \(String(cString: strerror(errno)))") }
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    #if canImport(Darwin)
      setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
    #endif
    var bound: Int32
    if address.family == AF_INET {
      var sa = sockaddr_in()
      sa.sin_family = sa_family_t(AF_INET)
      sa.sin_port = address.port.bigEndian
      withUnsafeMutableBytes(of: &sa.sin_addr) { $0.copyBytes(from: address.bytes) }
      bound = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    } else {
      var sa = sockaddr_in6()
      sa.sin6_family = sa_family_t(AF_INET6)
      sa.sin6_port = address.port.bigEndian
      withUnsafeMutableBytes(of: &sa.sin6_addr) { $0.copyBytes(from: address.bytes) }
      bound = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
    }
    guard bound == 0, listen(fd, 64) == 0 else {
      let reason = String(cString: strerror(errno))
      _ = closeDescriptor(fd)
      throw .failure("cannot listen for HTTP on \(address.host):\(address.port): \(reason)")
    }
    Self.setNonBlocking(fd)
    listener = fd
    // The port actually bound (port 0 picks a free one).
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    _ = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    let port = withUnsafeBytes(of: storage) { raw -> UInt16 in
      // sin_port and sin6_port sit at the same offset (2), in network byte order.
      UInt16(raw[2]) << 8 | UInt16(raw[3])
    }
    url = "http://\(address.host):\(port)"
  }

  /// What to poll: the listener while there is room, each connection for reading (head
  /// not complete) or writing (response pending).
  func pollItems() -> [(descriptor: Int32, writable: Bool)] {
    var items: [(Int32, Bool)] = connections.count < Self.maxConnections && acceptPausedAt == nil ? [(listener, false)] : []
    for (fd, c) in connections { items.append((fd, c.responding && !c.draining)) }
    return items
  }

  /// Acts on the descriptors `pollItems()` listed that became ready (any order).
  func service(ready: [Int32], now: Int) {
    for fd in ready {
      if fd == listener { acceptConnections(now: now) } else if connections[fd] != nil { serviceConnection(fd, now: now) }
    }
  }

  /// Cuts off connections past their deadlines: 408 to one still sending its head.
  func expire(now: Int) {
    if let paused = acceptPausedAt, now - paused > 1000 { acceptPausedAt = nil }
    for (fd, c) in connections {
      if !c.responding, now - c.accepted > Self.headTimeoutMilliseconds {
        respond(fd, .error(.requestTimeout, "the request head did not arrive within \(Self.headTimeoutMilliseconds / 1000) s"), head: true, now: now)
      } else if c.draining, now - c.respondedAt > Self.drainMilliseconds {
        drop(fd)
      } else if c.responding, now - c.respondedAt > Self.writeTimeoutMilliseconds {
        drop(fd)
      }
    }
  }

  func close() {
    for fd in Array(connections.keys) { drop(fd) }
    _ = closeDescriptor(listener)
  }

  // MARK: - Connections

  private func acceptConnections(now: Int) {
    while connections.count < Self.maxConnections {
      let fd = accept(listener, nil, nil)
      guard fd >= 0 else {
        if errno == EMFILE || errno == ENFILE {
          acceptPausedAt = now
          Log.warning("HTTP: out of file descriptors; new page requests wait until a connection closes")
        }
        return  // EAGAIN: none left (or a transient error: polled again)
      }
      Self.setNonBlocking(fd)
      #if canImport(Darwin)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
      #endif
      connections[fd] = Connection(accepted: now)
    }
  }

  private func serviceConnection(_ fd: Int32, now: Int) {
    guard var c = connections[fd] else { return }
    var buffer = [UInt8](repeating: 0, count: 4096)
    if c.draining {
      // At most 64 KiB per turn, dropped: a client cannot keep the loop busy here.
      for _ in 0..<16 {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) { drop(fd); return }
        if n < 0 { return }
      }
      return
    }
    if c.responding {
      flush(fd)
      return
    }
    let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
    if n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      drop(fd)  // gone before finishing its request: nothing to answer
      return
    }
    guard n > 0 else { return }
    c.input += buffer[..<n]
    connections[fd] = c
    if let end = Self.headEnd(c.input) {
      let head = Array(c.input[..<end])
      switch HTTPRequest.parse(head) {
      case .success(let request):
        respond(fd, handler(request), head: request.method != "HEAD", now: now)
      case .failure(let status):
        respond(fd, .error(status, Self.message(status)), head: true, now: now)
      }
    } else if c.input.count > Self.maxHead {
      respond(fd, .error(.headersTooLarge, "the request head exceeds \(Self.maxHead) bytes"), head: true, now: now)
    }
  }

  /// Index just past the blank line ending the head (CRLF CRLF, or bare LF LF), within
  /// the first `maxHead` bytes.
  static func headEnd(_ bytes: [UInt8]) -> Int? {
    let limit = min(bytes.count, maxHead)
    var i = 0
    while i < limit {
      if bytes[i] == 10 {
        if i + 1 < limit, bytes[i + 1] == 10 { return i + 2 }
        if i + 2 < limit, bytes[i + 1] == 13, bytes[i + 2] == 10 { return i + 3 }
      }
      i += 1
    }
    return nil
  }

  private static func message(_ status: HTTPStatus) -> String {
    switch status {
    case .methodNotAllowed: "only GET and HEAD are served (the pages are read-only)"
    case .uriTooLong: "the request target exceeds \(HTTPRequest.maxTarget) bytes"
    case .versionNotSupported: "only HTTP/1.0 and HTTP/1.1 are served"
    default: "malformed request"
    }
  }

  private func respond(_ fd: Int32, _ response: HTTPResponse, head includeBody: Bool, now: Int) {
    guard var c = connections[fd] else { return }
    c.output = response.serialized(includeBody: includeBody)
    c.input = []
    c.responding = true
    c.respondedAt = now
    connections[fd] = c
    flush(fd)
  }

  /// Writes what the socket takes now; closes once everything is out.
  private func flush(_ fd: Int32) {
    guard var c = connections[fd] else { return }
    while c.written < c.output.count {
      let n = c.output.withUnsafeBytes { send(fd, $0.baseAddress! + c.written, $0.count - c.written, sendFlags) }
      if n < 0 {
        if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { break }
        drop(fd)  // the client went away (EPIPE, ECONNRESET)
        return
      }
      c.written += n
    }
    connections[fd] = c
    if c.written == c.output.count {
      // Half-close, then drain: a client still sending (an oversized head) reads the
      // response before its unread bytes could reset the connection.
      shutdown(fd, Int32(SHUT_WR))
      c.draining = true
      connections[fd] = c
    }
  }

  private func drop(_ fd: Int32) {
    connections[fd] = nil
    acceptPausedAt = nil
    _ = closeDescriptor(fd)
  }

  private static func setNonBlocking(_ fd: Int32) {
    let flags = fcntl(fd, F_GETFL, 0)
    _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
  }
}

/// POSIX `close`, out of reach of `HTTPServer.close()` inside the class.
private func closeDescriptor(_ fd: Int32) -> Int32 {
  #if canImport(Glibc)
    Glibc.close(fd)
  #else
    Darwin.close(fd)
  #endif
}
