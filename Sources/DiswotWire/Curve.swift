import CZeroMQ
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CURVE (RFC 26) key utilities: Z85 text (RFC 32) and key validation.
public enum Curve {
  /// Whether this libzmq was built with CURVE (libsodium or its bundled tweetnacl).
  public static var isAvailable: Bool { ZMQContext.has("curve") }

  /// The Z85 alphabet, in digit order.
  static let alphabet: [UInt8] = Array(
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#".utf8)
  /// Byte → digit, or 0xFF for bytes outside the alphabet.
  static let digits: [UInt8] = {
    var table = [UInt8](repeating: 0xFF, count: 256)
    for (digit, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(digit) }
    return table
  }()

  /// Z85 text of `bytes`; nil unless the length is a multiple of 4.
  public static func z85Encode(_ bytes: [UInt8]) -> String? {
    guard bytes.count % 4 == 0 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count / 4 * 5)
    var i = 0
    while i < bytes.count {
      var value = UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3])
      var chunk = [UInt8](repeating: 0, count: 5)
      for j in stride(from: 4, through: 0, by: -1) {
        chunk[j] = alphabet[Int(value % 85)]
        value /= 85
      }
      out += chunk
      i += 4
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// The bytes of Z85 `text`; nil unless its length is a multiple of 5, every character is
  /// in the alphabet and every 5-character group fits in 32 bits.
  public static func z85Decode(_ text: String) -> [UInt8]? {
    let chars = Array(text.utf8)
    guard chars.count % 5 == 0 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(chars.count / 5 * 4)
    var i = 0
    while i < chars.count {
      var value: UInt64 = 0
      for j in 0..<5 {
        let digit = digits[Int(chars[i + j])]
        guard digit != 0xFF else { return nil }
        value = value * 85 + UInt64(digit)
      }
      guard value <= UInt64(UInt32.max) else { return nil }
      out += [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
      i += 5
    }
    return out
  }

  /// Whether `key` is a CURVE key in Z85: 40 characters decoding to 32 bytes.
  public static func isValidKey(_ key: String) -> Bool {
    key.utf8.count == 40 && z85Decode(key)?.count == 32
  }
}

/// A key file or key that cannot be used.
public struct CurveError: Error, Equatable, Sendable, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// A CURVE long-term key pair, both halves as 40-character Z85 text.
///
/// On disk a pair named NAME is two files in czmq's `zcert` format (ZPL, RFC 4), readable
/// by czmq, pyzmq's `zmq.auth` and JeroMQ:
///
/// - `NAME.key` (mode 0644), the public certificate, given to peers:
///   ```
///   #   ****  Generated on 2026-01-01T00:00:00Z by diswot  ****
///   #   ZeroMQ CURVE Public Certificate
///   ...comments...
///
///   metadata
///   curve
///       public-key = "<40 Z85 characters>"
///   ```
/// - `NAME.key_secret` (mode 0600), the same plus `    secret-key = "<40 Z85 characters>"`.
///
/// Reading takes the `public-key` and `secret-key` entries of the `curve` section and
/// ignores comments and other sections (`metadata`).
public struct CurveKeyPair: Sendable, Hashable {
  public let publicKey: String
  public let secretKey: String

  /// A pair from its two halves, checked to be valid Z85 keys that belong together.
  public init(publicKey: String, secretKey: String) throws(CurveError) {
    let derived = try Self.publicKey(forSecretKey: secretKey)
    guard Curve.isValidKey(publicKey) else { throw CurveError("the public key is not a 40-character Z85 key") }
    guard derived == publicKey else { throw CurveError("the public key does not belong to the secret key") }
    self.publicKey = publicKey
    self.secretKey = secretKey
  }

  /// A fresh random key pair (`zmq_curve_keypair`).
  public static func generate() throws(CurveError) -> CurveKeyPair {
    var publicKey = [CChar](repeating: 0, count: 41)
    var secretKey = [CChar](repeating: 0, count: 41)
    guard zmq_curve_keypair(&publicKey, &secretKey) == 0 else {
      throw CurveError("zmq_curve_keypair: \(ZMQError.last("zmq_curve_keypair").message)")
    }
    let pub = publicKey.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    let sec = secretKey.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    return try CurveKeyPair(publicKey: pub, secretKey: sec)
  }

  /// The public key of a secret key (`zmq_curve_public`).
  public static func publicKey(forSecretKey secretKey: String) throws(CurveError) -> String {
    guard Curve.isValidKey(secretKey) else { throw CurveError("the secret key is not a 40-character Z85 key") }
    var publicKey = [CChar](repeating: 0, count: 41)
    guard zmq_curve_public(&publicKey, secretKey) == 0 else {
      throw CurveError("zmq_curve_public: \(ZMQError.last("zmq_curve_public").message)")
    }
    return publicKey.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
  }

  // MARK: - Files

  /// The public-certificate file of `name` in `directory`: `NAME.key`.
  public static func publicFile(in directory: URL, name: String) -> URL {
    directory.appendingPathComponent("\(name).key")
  }

  /// The secret-certificate file of `name` in `directory`: `NAME.key_secret`.
  public static func secretFile(in directory: URL, name: String) -> URL {
    directory.appendingPathComponent("\(name).key_secret")
  }

  /// Whether `name` can name a key: 1–64 letters, digits, `-`, `_` or `.`, not starting with `.`.
  public static func isValidName(_ name: String) -> Bool {
    let bytes = Array(name.utf8)
    guard (1...64).contains(bytes.count), bytes[0] != UInt8(ascii: ".") else { return false }
    return bytes.allSatisfy { b in
      (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
        || b == UInt8(ascii: "-") || b == UInt8(ascii: "_") || b == UInt8(ascii: ".")
    }
  }

  /// Writes `NAME.key` (0644) and `NAME.key_secret` (0600) into `directory`, each atomically
  /// (a temporary file created with its final mode, then renamed), replacing older files.
  public func write(to directory: URL, name: String) throws(CurveError) {
    guard Self.isValidName(name) else { throw CurveError("invalid key name '\(name)' (letters, digits, '-', '_', '.')") }
    let stamp = ISO8601DateFormatter().string(from: Date())
    let publicText = """
      #   ****  Generated on \(stamp) by diswot  ****
      #   ZeroMQ CURVE Public Certificate
      #   Exchange securely, or use a secure mechanism to verify the contents
      #   of this file after exchange. Store public certificates in your home
      #   directory, in the .curve subdirectory.

      metadata
      curve
          public-key = "\(publicKey)"

      """
    let secretText = """
      #   ****  Generated on \(stamp) by diswot  ****
      #   ZeroMQ CURVE **Secret** Certificate
      #   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.

      metadata
      curve
          public-key = "\(publicKey)"
          secret-key = "\(secretKey)"

      """
    try writeAtomically(publicText, to: Self.publicFile(in: directory, name: name), mode: 0o644)
    try writeAtomically(secretText, to: Self.secretFile(in: directory, name: name), mode: 0o600)
  }

  /// Reads the pair `name` from `NAME.key_secret` in `directory`, checking that its public
  /// key belongs to its secret key.
  public static func read(from directory: URL, name: String) throws(CurveError) -> CurveKeyPair {
    try read(secretFile: secretFile(in: directory, name: name))
  }

  /// Reads a pair from a secret-certificate file.
  public static func read(secretFile url: URL) throws(CurveError) -> CurveKeyPair {
    let entries = try curveEntries(of: url)
    guard let secret = entries["secret-key"] else { throw CurveError("\(url.path): no curve/secret-key entry") }
    guard let pub = entries["public-key"] else { throw CurveError("\(url.path): no curve/public-key entry") }
    do {
      return try CurveKeyPair(publicKey: pub, secretKey: secret)
    } catch {
      throw CurveError("\(url.path): \(error.message)")
    }
  }

  /// Reads the public key of `name` from `NAME.key` in `directory`.
  public static func readPublicKey(from directory: URL, name: String) throws(CurveError) -> String {
    try readPublicKey(file: publicFile(in: directory, name: name))
  }

  /// Reads the public key of a certificate file (public or secret).
  public static func readPublicKey(file url: URL) throws(CurveError) -> String {
    let entries = try curveEntries(of: url)
    guard let key = entries["public-key"] else { throw CurveError("\(url.path): no curve/public-key entry") }
    guard Curve.isValidKey(key) else { throw CurveError("\(url.path): curve/public-key is not a 40-character Z85 key") }
    return key
  }

  /// The `name = value` entries of the top-level `curve` section of a ZPL file.
  static func curveEntries(of url: URL) throws(CurveError) -> [String: String] {
    let data: Data
    do {
      data = try Data(contentsOf: url)
    } catch {
      throw CurveError("cannot read \(url.path): \(error.localizedDescription)")
    }
    guard data.count <= 64 * 1024, let text = String(data: data, encoding: .utf8) else {
      throw CurveError("\(url.path): not a key file (not UTF-8 text, or over 64 KiB)")
    }
    return parseCurveSection(text)
  }

  /// Parses the subset of ZPL that certificates use: `#` comments, unindented section
  /// names, indented `name = value` lines with the value optionally in `"` or `'` quotes.
  static func parseCurveSection(_ text: String) -> [String: String] {
    var section: String?
    var entries: [String: String] = [:]
    for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r" }) {
      let line = String(rawLine)
      let trimmed = line.trimmingCharacters(in: .whitespaces)
      if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
      let indented = line.first == " " || line.first == "\t"
      if !indented {
        section = trimmed.split(separator: "=", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) }
        continue
      }
      guard section == "curve", let equals = trimmed.firstIndex(of: "=") else { continue }
      let name = trimmed[..<equals].trimmingCharacters(in: .whitespaces)
      var value = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces)
      if let quote = value.first, quote == "\"" || quote == "'" {
        value.removeFirst()
        if let end = value.firstIndex(of: quote) { value = String(value[..<end]) }
      } else if let comment = value.firstIndex(of: "#") {
        value = value[..<comment].trimmingCharacters(in: .whitespaces)
      }
      entries[name] = value
    }
    return entries
  }
}

/// Writes `text` to a temporary file created with `mode`, fsyncs it and renames it to `url`.
private func writeAtomically(_ text: String, to url: URL, mode: mode_t) throws(CurveError) {
  let temporary = url.path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
  let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, mode)
  guard fd >= 0 else { throw CurveError("cannot create \(temporary): \(String(cString: strerror(errno)))") }
  var ok = fchmod(fd, mode) == 0  // the umask may have removed bits; set exactly `mode`
  let bytes = Array(text.utf8)
  var written = 0
  while ok && written < bytes.count {
    let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    if n < 0 && errno == EINTR { continue }
    if n <= 0 { ok = false } else { written += n }
  }
  ok = ok && fsync(fd) == 0
  let reason = String(cString: strerror(errno))
  close(fd)
  guard ok, rename(temporary, url.path) == 0 else {
    let message = ok ? String(cString: strerror(errno)) : reason
    unlink(temporary)
    throw CurveError("cannot write \(url.path): \(message)")
  }
}
