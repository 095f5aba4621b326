import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A TCP relay that holds every byte for a fixed delay in each direction: added latency
/// for the network tests, where the kernel has no `netem` (this machine's is built without
/// CONFIG_NET_SCH_NETEM). It accepts any number of connections one after another on
/// `host:port` (an ephemeral port) and connects each to `target`; a connection's two
/// directions each run on their own threads until either side closes.
final class DelayRelay: @unchecked Sendable {
  let port: UInt16
  private let listener: Int32
  private let target: sockaddr_in
  private let delay: Double
  private let lock = NSLock()
  private var sockets: [Int32] = []
  private var stopped = false

  init(host: String, target: (host: String, port: UInt16), delayMilliseconds: Int) throws {
    delay = Double(delayMilliseconds) / 1000
    self.target = try Self.address(target.host, target.port)
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var one: Int32 = 1
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var local = try Self.address(host, 0)
    let size = socklen_t(MemoryLayout<sockaddr_in>.size)
    guard withUnsafePointer(to: &local, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, size) } }) == 0,
      listen(listener, 8) == 0
    else { throw DaemonTestError("relay: cannot listen on \(host): \(String(cString: strerror(errno)))") }
    var bound = sockaddr_in()
    var length = size
    _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
    self.listener = listener
    port = UInt16(bigEndian: bound.sin_port)
    Thread.detachNewThread { [self] in acceptLoop() }
  }

  static func address(_ host: String, _ port: UInt16) throws -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw DaemonTestError("relay: bad address \(host)") }
    return address
  }

  /// Closes the listener and every relayed connection.
  func stop() {
    lock.lock()
    stopped = true
    let open = sockets
    lock.unlock()
    shutdown(listener, Int32(SHUT_RDWR))
    close(listener)
    for s in open { shutdown(s, Int32(SHUT_RDWR)) }
  }

  deinit { stop() }

  private func acceptLoop() {
    while true {
      let client = accept(listener, nil, nil)
      guard client >= 0 else { return }
      let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
      var address = target
      let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
      }
      lock.lock()
      let done = stopped
      sockets += [client, upstream]
      lock.unlock()
      guard connected == 0, !done else {
        close(client)
        close(upstream)
        continue
      }
      pipe(from: client, to: upstream)
      pipe(from: upstream, to: client)
    }
  }

  /// Copies `source` to `destination`, each chunk written `delay` after it was read.
  private func pipe(from source: Int32, to destination: Int32) {
    let queue = DelayQueue()
    Thread.detachNewThread { [delay] in
      var buffer = [UInt8](repeating: 0, count: 1 << 16)
      while true {
        let n = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress!, $0.count) }
        guard n > 0 else {
          queue.put(nil, due: Date())
          return
        }
        queue.put(Array(buffer[0..<n]), due: Date().addingTimeInterval(delay))
      }
    }
    Thread.detachNewThread {
      while let chunk = queue.take() {
        var written = 0
        while written < chunk.count {
          // MSG_NOSIGNAL: a peer that closed must not kill the test process with SIGPIPE.
          let n = chunk.withUnsafeBytes { send(destination, $0.baseAddress! + written, $0.count - written, Int32(MSG_NOSIGNAL)) }
          guard n > 0 else { break }
          written += n
        }
      }
      shutdown(destination, Int32(SHUT_WR))
    }
  }
}

/// Chunks in arrival order, each released at its due time; nil marks the end.
private final class DelayQueue: @unchecked Sendable {
  private let condition = NSCondition()
  private var items: [(chunk: [UInt8]?, due: Date)] = []

  func put(_ chunk: [UInt8]?, due: Date) {
    condition.lock()
    items.append((chunk, due))
    condition.signal()
    condition.unlock()
  }

  func take() -> [UInt8]? {
    condition.lock()
    defer { condition.unlock() }
    while true {
      if let first = items.first {
        if first.due <= Date() {
          items.removeFirst()
          return first.chunk
        }
        condition.wait(until: first.due)
      } else {
        condition.wait()
      }
    }
  }
}
