/// A request head read by `HTTPServer`, or why it is refused (an HTTP status).
struct HTTPRequest: Equatable {
  var method: String
  /// The decoded path, query and fragment removed (`/searches/s-1`).
  var path: String
  var headers: [(String, String)]

  static func == (a: Self, b: Self) -> Bool {
    a.method == b.method && a.path == b.path && a.headers.map { [$0.0, $0.1] } == b.headers.map { [$0.0, $0.1] }
  }

  /// Longest request target accepted (414 beyond).
  static let maxTarget = 2048

  /// Parses a complete head (request line and header lines, up to the blank line) by RFC
  /// 9112's grammar, strictly: anything malformed is a status to answer with, never a guess.
  static func parse(_ head: [UInt8]) -> Result<HTTPRequest, HTTPStatus> {
    // Split on bytes: in a Swift String "\r\n" is one Character and would not split on "\n".
    var lines: [Substring] = []
    for raw in head.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
      let bytes = raw.last == UInt8(ascii: "\r") ? raw.dropLast() : raw
      guard let line = String(validating: bytes, as: UTF8.self) else { return .failure(.badRequest) }
      lines.append(Substring(line))
    }
    while lines.last?.isEmpty == true { lines.removeLast() }
    guard let requestLine = lines.first else { return .failure(.badRequest) }
    let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
    guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(isTokenCharacter) else { return .failure(.badRequest) }
    let (method, target, version) = (String(parts[0]), String(parts[1]), String(parts[2]))
    guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
      return .failure(version.hasPrefix("HTTP/") ? .versionNotSupported : .badRequest)
    }
    guard target.utf8.count <= maxTarget else { return .failure(.uriTooLong) }
    guard target.hasPrefix("/"), target.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
      return .failure(.badRequest)
    }
    var headers: [(String, String)] = []
    for line in lines.dropFirst() {
      guard let colon = line.firstIndex(of: ":"), colon != line.startIndex,
        line[..<colon].allSatisfy(isTokenCharacter),
        !line.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7F })
      else { return .failure(.badRequest) }
      headers.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingSpaces))
    }
    // HTTP/1.1 requires exactly one Host (RFC 9112 §3.2).
    if version == "HTTP/1.1", headers.filter({ $0.0 == "host" }).count != 1 { return .failure(.badRequest) }
    guard method == "GET" || method == "HEAD" else { return .failure(.methodNotAllowed) }
    // A GET with a body is refused: it is not read, and would be taken for the next request.
    if headers.contains(where: { $0.0 == "transfer-encoding" || ($0.0 == "content-length" && $0.1 != "0") }) {
      return .failure(.badRequest)
    }
    let rawPath = target.prefix { $0 != "?" && $0 != "#" }
    guard let path = percentDecoded(String(rawPath)) else { return .failure(.badRequest) }
    // No segment may climb or hide: the router matches fixed names, and refusing these
    // keeps any future file-serving route from being walked out of its directory.
    let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
    if segments.contains(where: { $0 == ".." || $0 == "." }) || path.contains("\\") || path.contains("\0") {
      return .failure(.badRequest)
    }
    return .success(HTTPRequest(method: method, path: path, headers: headers))
  }

  /// RFC 9110 `tchar`.
  private static func isTokenCharacter(_ c: Character) -> Bool {
    guard let a = c.asciiValue else { return false }
    return (a >= 0x30 && a <= 0x39) || (a >= 0x41 && a <= 0x5A) || (a >= 0x61 && a <= 0x7A) || "!#$%&'*+-.^_`|~".utf8.contains(a)
  }

  /// `%XX` decoded (UTF-8); nil for a malformed escape or invalid UTF-8.
  static func percentDecoded(_ text: String) -> String? {
    var bytes: [UInt8] = []
    var iterator = Array(text.utf8).makeIterator()
    while let b = iterator.next() {
      if b == UInt8(ascii: "%") {
        guard let h = iterator.next(), let l = iterator.next(), let v = UInt8(String(decoding: [h, l], as: UTF8.self), radix: 16) else {
          return nil
        }
        bytes.append(v)
      } else {
        bytes.append(b)
      }
    }
    return String(validating: bytes, as: UTF8.self)
  }
}

extension Substring {
  var trimmingSpaces: String {
    String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
  }
}

/// The statuses the server answers with.
enum HTTPStatus: Int, Sendable, Error {
  case ok = 200
  case badRequest = 400
  case notFound = 404
  case methodNotAllowed = 405
  case requestTimeout = 408
  case uriTooLong = 414
  case headersTooLarge = 431
  case internalServerError = 500
  case serviceUnavailable = 503
  case versionNotSupported = 505

  var reason: String {
    switch self {
    case .ok: "OK"
    case .badRequest: "Bad Request"
    case .notFound: "Not Found"
    case .methodNotAllowed: "Method Not Allowed"
    case .requestTimeout: "Request Timeout"
    case .uriTooLong: "URI Too Long"
    case .headersTooLarge: "Request Header Fields Too Large"
    case .internalServerError: "Internal Server Error"
    case .serviceUnavailable: "Service Unavailable"
    case .versionNotSupported: "HTTP Version Not Supported"
    }
  }
}

/// What the server sends back: a status and an HTML (or plain-text) body.
struct HTTPResponse {
  var status: HTTPStatus
  var body: [UInt8]
  var contentType = "text/html; charset=utf-8"

  init(_ status: HTTPStatus, html: String) {
    self.status = status
    body = Array(html.utf8)
  }

  /// A short plain-text error page.
  static func error(_ status: HTTPStatus, _ message: String) -> HTTPResponse {
    var response = HTTPResponse(status, html: "\(status.rawValue) \(status.reason): \(message)\n")
    response.contentType = "text/plain; charset=utf-8"
    return response
  }

  /// The bytes on the wire; `HEAD` gets the headers alone. Every response closes the
  /// connection (one request per connection keeps the server's state trivial), forbids
  /// caching (pages are live) and every external resource (the pages have none).
  func serialized(includeBody: Bool) -> [UInt8] {
    var head = "HTTP/1.1 \(status.rawValue) \(status.reason)\r\n"
    head += "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
    head += "Cache-Control: no-store\r\nContent-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n"
    head += "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n"
    if status == .methodNotAllowed { head += "Allow: GET, HEAD\r\n" }
    head += "Connection: close\r\n\r\n"
    return Array(head.utf8) + (includeBody ? body : [])
  }
}
