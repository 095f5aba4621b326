import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A raw HTTP exchange over a real TCP socket: what a browser (or an attacker) sends,
/// byte for byte, and everything the daemon answers until it closes.
final class RawHTTPConnection {
  let fd: Int32

  init(port: UInt16) throws {
    fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard rc == 0 else {
      close(fd)
      throw DaemonTestError("cannot connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
    }
  }

  deinit { close(fd) }

  func send(_ text: String) { send(Array(text.utf8)) }

  func send(_ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
      if n <= 0 { return }  // the server closed (an oversized head is cut off)
      offset += n
    }
  }

  /// Everything until the server closes or `seconds` pass (nil then: it hung).
  func readToEnd(seconds: Double = 10) -> String? {
    var data: [UInt8] = []
    let deadline = Date().addingTimeInterval(seconds)
    var buffer = [UInt8](repeating: 0, count: 65536)
    while Date() < deadline {
      var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      guard poll(&pfd, 1, 100) >= 0 else { return nil }
      if pfd.revents == 0 { continue }
      let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if n <= 0 { return String(decoding: data, as: UTF8.self) }
      data += buffer[..<n]
    }
    return nil
  }
}

/// A whole request and its response.
struct HTTPExchange {
  var status: Int
  var headers: String
  var body: String

  /// `GET path` (or `request` verbatim) to 127.0.0.1:port.
  static func get(_ path: String, port: UInt16) throws -> HTTPExchange {
    try raw("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n\r\n", port: port)
  }

  static func raw(_ request: String, port: UInt16, seconds: Double = 15) throws -> HTTPExchange {
    let connection = try RawHTTPConnection(port: port)
    connection.send(request)
    guard let text = connection.readToEnd(seconds: seconds) else { throw DaemonTestError("no complete response in \(seconds) s to \(request.prefix(80))") }
    return try parse(text)
  }

  static func parse(_ text: String) throws -> HTTPExchange {
    guard let split = text.range(of: "\r\n\r\n") else { throw DaemonTestError("not an HTTP response: \(text.prefix(200))") }
    let head = String(text[..<split.lowerBound])
    let statusLine = head.prefix { $0 != "\r" }
    let parts = statusLine.split(separator: " ")
    guard parts.count >= 2, parts[0] == "HTTP/1.1", let status = Int(parts[1]) else { throw DaemonTestError("bad status line: \(statusLine)") }
    return HTTPExchange(status: status, headers: head, body: String(text[split.upperBound...]))
  }
}
