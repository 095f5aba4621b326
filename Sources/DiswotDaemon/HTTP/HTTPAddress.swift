#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Where `diswotd --http` listens: `127.0.0.1:PORT`, `[::1]:PORT` or `localhost:PORT`
/// (port 0: any free port). Only loopback: the pages have no authentication and no
/// encryption — HTTP has no CURVE — so another interface is refused rather than served
/// in the clear; reach them from elsewhere through an SSH tunnel (`ssh -L`).
struct HTTPAddress: Equatable {
  /// `AF_INET` or `AF_INET6`.
  var family: Int32
  /// The address in network byte order (4 or 16 bytes).
  var bytes: [UInt8]
  var port: UInt16

  init(parsing text: String) throws(DaemonError) {
    let hint = "serve the pages on loopback (127.0.0.1:PORT or [::1]:PORT) and reach them from elsewhere through an SSH tunnel (ssh -L PORT:127.0.0.1:PORT host)"
    guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
      throw .configuration("--http must be HOST:PORT with a port 0-65535 (127.0.0.1:8080), got '\(text)'")
    }
    var host = String(text[..<colon])
    if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    if host == "localhost" { host = "127.0.0.1" }
    self.port = port
    var v4 = in_addr()
    var v6 = in6_addr()
    if inet_pton(AF_INET, host, &v4) == 1 {
      family = AF_INET
      bytes = withUnsafeBytes(of: v4) { Array($0) }
      guard bytes[0] == 127 else {
        throw .configuration("refusing to serve HTTP on \(host): not a loopback address (the pages are unauthenticated and unencrypted; there is no CURVE for HTTP)", hint: hint)
      }
    } else if inet_pton(AF_INET6, host, &v6) == 1 {
      family = AF_INET6
      bytes = withUnsafeBytes(of: v6) { Array($0) }
      guard bytes == Array(repeating: 0, count: 15) + [1] else {
        throw .configuration("refusing to serve HTTP on \(host): not a loopback address (the pages are unauthenticated and unencrypted; there is no CURVE for HTTP)", hint: hint)
      }
    } else {
      throw .configuration("--http takes a numeric loopback address or localhost, got '\(host)'", hint: hint)
    }
  }

  var host: String { family == AF_INET ? bytes.map(String.init).joined(separator: ".") : "[::1]" }
}
