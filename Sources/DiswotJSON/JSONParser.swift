/// Why a text is not JSON: what was wrong and where (a byte offset into the text).
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
  /// Byte offset of the first byte that could not be accepted.
  public var offset: Int
  /// What was wrong there, for humans (`trailing comma before '}'`).
  public var reason: String
  /// Whether the text was refused only for nesting deeper than the limit.
  public var isTooDeep: Bool

  public init(offset: Int, reason: String, isTooDeep: Bool = false) {
    self.offset = offset
    self.reason = reason
    self.isTooDeep = isTooDeep
  }

  public var description: String { "\(reason) at byte \(offset)" }
}

/// A strict reader of JSON texts as RFC 8259 defines them, into `JSONValue`.
///
/// Why not Foundation's decoder: it accepts what the RFC does not (trailing commas, numbers
/// with leading zeros), so a request the protocol documents as invalid was served; and it
/// reads every number as a `Double` first, so integers above 2⁵³ lose their last digits and
/// a seed near 2⁶⁴ was refused. Here the grammar is the RFC's, and so is the error: the
/// first byte that does not fit, and why.
///
/// Choices where the RFC leaves room: a byte order mark is refused (§8.1 lets a parser
/// ignore one; documents here are written by programs), an object may not repeat a member
/// name (§4 leaves the meaning to the reader: two readers could disagree on which value
/// counts), nesting is limited (§9), and a number whose magnitude overflows a `Double` is
/// refused (§9; JSON cannot carry infinities). A number without fraction or exponent is an
/// integer: `.int` when it fits `Int`, `.uint` when it fits only `UInt64`, else `.double`.
struct JSONParser {
  private let bytes: UnsafeBufferPointer<UInt8>
  private let maxDepth: Int
  private var position = 0
  private var depth = 0

  private init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
    self.bytes = bytes
    self.maxDepth = maxDepth
  }

  /// The one value `text` holds, with nothing but whitespace around it.
  static func parse(_ text: UnsafeBufferPointer<UInt8>, maxDepth: Int) throws(JSONSyntaxError) -> JSONValue {
    if let bad = firstInvalidUTF8(text) { throw JSONSyntaxError(offset: bad, reason: "invalid UTF-8") }
    if text.starts(with: [0xEF, 0xBB, 0xBF]) { throw JSONSyntaxError(offset: 0, reason: "a byte order mark") }
    var parser = JSONParser(bytes: text, maxDepth: maxDepth)
    parser.skipWhitespace()
    guard parser.position < text.count else { throw JSONSyntaxError(offset: 0, reason: "no value (the text is empty)") }
    let value = try parser.value()
    parser.skipWhitespace()
    guard parser.position == text.count else { throw parser.fail("unexpected \(parser.current) after the value") }
    return value
  }

  // MARK: Values

  private mutating func value() throws(JSONSyntaxError) -> JSONValue {
    guard position < bytes.count else { throw fail("unexpected end of text, expected a value") }
    switch bytes[position] {
    case UInt8(ascii: "{"): return try object()
    case UInt8(ascii: "["): return try array()
    case UInt8(ascii: "\""): return .string(try string())
    case UInt8(ascii: "t"): try literal("true"); return .bool(true)
    case UInt8(ascii: "f"): try literal("false"); return .bool(false)
    case UInt8(ascii: "n"): try literal("null"); return .null
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
    default: throw fail("unexpected \(current), expected a value")
    }
  }

  private mutating func object() throws(JSONSyntaxError) -> JSONValue {
    try enter()
    position += 1  // {
    var members: [String: JSONValue] = [:]
    skipWhitespace()
    if peek(UInt8(ascii: "}")) {
      position += 1
      depth -= 1
      return .object(members)
    }
    while true {
      skipWhitespace()
      guard peek(UInt8(ascii: "\"")) else {
        throw fail(peek(UInt8(ascii: "}")) ? "trailing comma before '}'" : "unexpected \(current), expected a member name in quotes")
      }
      let nameOffset = position
      let name = try string()
      skipWhitespace()
      guard peek(UInt8(ascii: ":")) else { throw fail("unexpected \(current), expected ':' after a member name") }
      position += 1
      skipWhitespace()
      let member = try value()
      guard members.updateValue(member, forKey: name) == nil else {
        throw JSONSyntaxError(offset: nameOffset, reason: "member name '\(name)' repeated")
      }
      skipWhitespace()
      if peek(UInt8(ascii: ",")) {
        position += 1
        continue
      }
      guard peek(UInt8(ascii: "}")) else { throw fail("unexpected \(current), expected ',' or '}'") }
      position += 1
      depth -= 1
      return .object(members)
    }
  }

  private mutating func array() throws(JSONSyntaxError) -> JSONValue {
    try enter()
    position += 1  // [
    var elements: [JSONValue] = []
    skipWhitespace()
    if peek(UInt8(ascii: "]")) {
      position += 1
      depth -= 1
      return .array(elements)
    }
    while true {
      skipWhitespace()
      if peek(UInt8(ascii: "]")) { throw fail("trailing comma before ']'") }
      elements.append(try value())
      skipWhitespace()
      if peek(UInt8(ascii: ",")) {
        position += 1
        continue
      }
      guard peek(UInt8(ascii: "]")) else { throw fail("unexpected \(current), expected ',' or ']'") }
      position += 1
      depth -= 1
      return .array(elements)
    }
  }

  private mutating func enter() throws(JSONSyntaxError) {
    depth += 1
    if depth > maxDepth {
      throw JSONSyntaxError(offset: position, reason: "arrays and objects nested deeper than \(maxDepth) levels", isTooDeep: true)
    }
  }

  private mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
    let expected = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
    guard bytes.count - position >= expected.count, bytes[position..<(position + expected.count)].elementsEqual(expected) else {
      throw fail("unexpected \(current), expected a value")
    }
    position += expected.count
  }

  // MARK: Numbers

  /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
  private mutating func number() throws(JSONSyntaxError) -> JSONValue {
    let start = position
    if peek(UInt8(ascii: "-")) { position += 1 }
    guard position < bytes.count, isDigit(bytes[position]) else { throw fail("a '-' not followed by a digit") }
    if bytes[position] == UInt8(ascii: "0") {
      position += 1
      if position < bytes.count, isDigit(bytes[position]) { throw fail("a number with a leading zero") }
    } else {
      skipDigits()
    }
    var integral = true
    if peek(UInt8(ascii: ".")) {
      integral = false
      position += 1
      guard position < bytes.count, isDigit(bytes[position]) else { throw fail("a '.' not followed by a digit") }
      skipDigits()
    }
    if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
      integral = false
      position += 1
      if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { position += 1 }
      guard position < bytes.count, isDigit(bytes[position]) else { throw fail("an exponent without digits") }
      skipDigits()
    }
    let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    if integral {
      if let n = Int(text) { return .int(n) }
      if let n = UInt64(text) { return .uint(n) }
    }
    guard let x = Double(text), x.isFinite else {
      throw JSONSyntaxError(offset: start, reason: "the number \(text.prefix(40)) is out of range")
    }
    return .double(x)
  }

  private mutating func skipDigits() {
    while position < bytes.count, isDigit(bytes[position]) { position += 1 }
  }

  private func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

  // MARK: Strings

  /// A string from its opening quote; escapes decoded, surrogate pairs joined.
  private mutating func string() throws(JSONSyntaxError) -> String {
    position += 1  // "
    let start = position
    // The common case, no escapes: the bytes are the string (the text is valid UTF-8).
    while position < bytes.count {
      let byte = bytes[position]
      if byte == UInt8(ascii: "\"") {
        defer { position += 1 }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
      }
      if byte == UInt8(ascii: "\\") { break }
      guard byte >= 0x20 else { throw fail("a control character (0x\(hex(byte))) inside a string; escape it") }
      position += 1
    }
    var scalars = String.UnicodeScalarView()
    scalars.append(contentsOf: String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self).unicodeScalars)
    while position < bytes.count {
      let byte = bytes[position]
      if byte == UInt8(ascii: "\"") {
        position += 1
        return String(scalars)
      }
      guard byte >= 0x20 else { throw fail("a control character (0x\(hex(byte))) inside a string; escape it") }
      if byte != UInt8(ascii: "\\") {
        // Copy a run of plain bytes at once (they may be multi-byte UTF-8).
        let run = position
        while position < bytes.count, bytes[position] != UInt8(ascii: "\""), bytes[position] != UInt8(ascii: "\\"), bytes[position] >= 0x20 {
          position += 1
        }
        scalars.append(contentsOf: String(decoding: UnsafeBufferPointer(rebasing: bytes[run..<position]), as: UTF8.self).unicodeScalars)
        continue
      }
      position += 1
      guard position < bytes.count else { break }
      let escape = bytes[position]
      position += 1
      switch escape {
      case UInt8(ascii: "\""): scalars.append("\"")
      case UInt8(ascii: "\\"): scalars.append("\\")
      case UInt8(ascii: "/"): scalars.append("/")
      case UInt8(ascii: "b"): scalars.append("\u{08}")
      case UInt8(ascii: "f"): scalars.append("\u{0C}")
      case UInt8(ascii: "n"): scalars.append("\n")
      case UInt8(ascii: "r"): scalars.append("\r")
      case UInt8(ascii: "t"): scalars.append("\t")
      case UInt8(ascii: "u"):
        let at = position - 2
        let unit = try hexQuad()
        var scalar = UInt32(unit)
        if (0xD800..<0xDC00).contains(unit) {
          guard bytes.count - position >= 6, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
            throw JSONSyntaxError(offset: at, reason: "a high surrogate \\u\(hex(unit)) without its low half")
          }
          position += 2
          let low = try hexQuad()
          guard (0xDC00..<0xE000).contains(low) else {
            throw JSONSyntaxError(offset: at, reason: "a high surrogate \\u\(hex(unit)) followed by \\u\(hex(low)), not a low surrogate")
          }
          scalar = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
        } else if (0xDC00..<0xE000).contains(unit) {
          throw JSONSyntaxError(offset: at, reason: "a low surrogate \\u\(hex(unit)) without its high half")
        }
        scalars.append(Unicode.Scalar(scalar)!)
      default:
        throw JSONSyntaxError(offset: position - 2, reason: "an unknown escape '\\\(Character(Unicode.Scalar(escape)))'")
      }
    }
    throw fail("unexpected end of text inside a string")
  }

  private mutating func hexQuad() throws(JSONSyntaxError) -> UInt16 {
    guard bytes.count - position >= 4 else { throw fail("a \\u escape needs 4 hexadecimal digits") }
    var value: UInt16 = 0
    for _ in 0..<4 {
      let byte = bytes[position]
      let digit: UInt8
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
      default: throw fail("a \\u escape needs 4 hexadecimal digits")
      }
      value = value << 4 | UInt16(digit)
      position += 1
    }
    return value
  }

  // MARK: Helpers

  private mutating func skipWhitespace() {
    while position < bytes.count {
      switch bytes[position] {
      case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): position += 1
      default: return
      }
    }
  }

  private func peek(_ byte: UInt8) -> Bool { position < bytes.count && bytes[position] == byte }

  /// The byte at the current position, for error messages.
  private var current: String {
    guard position < bytes.count else { return "end of text" }
    let byte = bytes[position]
    return (0x21...0x7E).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(hex(byte))"
  }

  private func fail(_ reason: String) -> JSONSyntaxError { JSONSyntaxError(offset: position, reason: reason) }

  private func hex(_ value: some BinaryInteger) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, (value is UInt8 ? 2 : 4) - digits.count)) + digits
  }

  /// The offset of the first byte that breaks UTF-8 (overlong forms, surrogates and code
  /// points above U+10FFFF included), or nil.
  private static func firstInvalidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
    var i = 0
    while i < bytes.count {
      let lead = bytes[i]
      if lead < 0x80 {
        i += 1
        continue
      }
      let length: Int
      var lower: UInt8 = 0x80, upper: UInt8 = 0xBF  // bounds of the second byte
      switch lead {
      case 0xC2...0xDF: length = 2
      case 0xE0: (length, lower) = (3, 0xA0)
      case 0xE1...0xEC, 0xEE...0xEF: length = 3
      case 0xED: (length, upper) = (3, 0x9F)
      case 0xF0: (length, lower) = (4, 0x90)
      case 0xF1...0xF3: length = 4
      case 0xF4: (length, upper) = (4, 0x8F)
      default: return i
      }
      guard bytes.count - i >= length, (lower...upper).contains(bytes[i + 1]) else { return i }
      for k in 2..<length where !(0x80...0xBF).contains(bytes[i + k]) { return i }
      i += length
    }
    return nil
  }
}
