import Foundation

/// A JSON document kept untyped.
///
/// Readers of user-supplied JSON (safetensors headers, search-space files, architecture
/// genotypes, protocol bodies) check every field themselves so that an error names the
/// exact field and what was wrong with it, which a `Codable` struct would only report as
/// a coding path. Integers are kept apart from other numbers so that a shape or a channel
/// count written as `1.5` or `1e30` is rejected rather than rounded, and kept exact up to
/// 2⁶⁴ − 1 (seeds). Text is read strictly by RFC 8259 (`JSONParser`). Writers use the
/// literal forms for ad-hoc output: `["id": "abc", "score": 0.91, "ok": true]`.
public indirect enum JSONValue: Sendable, Hashable, Codable, ExpressibleByStringLiteral,
  ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral,
  ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
  case null
  case bool(Bool)
  case int(Int)
  /// An integer above `Int.max` (up to `UInt64.max`: seeds); smaller ones are `.int`.
  case uint(UInt64)
  case double(Double)
  case string(String)
  case array([JSONValue])
  case object([String: JSONValue])

  public init(stringLiteral value: String) { self = .string(value) }
  public init(integerLiteral value: Int) { self = .int(value) }
  public init(floatLiteral value: Double) { self = .double(value) }
  public init(booleanLiteral value: Bool) { self = .bool(value) }
  public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
  public init(nilLiteral: ()) { self = .null }
  public init(dictionaryLiteral elements: (String, JSONValue)...) {
    self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
  }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() {
      self = .null
    } else if let value = try? container.decode(Bool.self) {
      self = .bool(value)
    } else if let value = try? container.decode(Int.self) {
      self = .int(value)
    } else if let value = try? container.decode(UInt64.self) {
      self = .uint(value)
    } else if let value = try? container.decode(Double.self) {
      self = .double(value)
    } else if let value = try? container.decode(String.self) {
      self = .string(value)
    } else if let value = try? container.decode([JSONValue].self) {
      self = .array(value)
    } else {
      self = .object(try container.decode([String: JSONValue].self))
    }
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    switch self {
    case .null: try container.encodeNil()
    case .bool(let value): try container.encode(value)
    case .int(let value): try container.encode(value)
    case .uint(let value): try container.encode(value)
    case .double(let value) where !value.isFinite: try container.encodeNil()  // JSONText's rule
    case .double(let value): try container.encode(value)
    case .string(let value): try container.encode(value)
    case .array(let value): try container.encode(value)
    case .object(let value): try container.encode(value)
    }
  }

  /// Parses UTF-8 JSON text (RFC 8259, strictly); nil when it is not valid JSON.
  public static func parse(_ bytes: some Collection<UInt8>) -> JSONValue? { try? parsing(bytes) }

  /// Parses JSON text; nil when it is not valid JSON.
  public static func parse(_ text: String) -> JSONValue? { parse(Array(text.utf8)) }

  /// Parses UTF-8 JSON text strictly by RFC 8259, or says where and why it is not JSON
  /// (trailing commas, leading zeros, repeated member names, nesting deeper than
  /// `maxDepth`, … are refused; see `JSONParser`).
  public static func parsing(_ bytes: some Collection<UInt8>, maxDepth: Int = 512) throws(JSONSyntaxError) -> JSONValue {
    let result: Result<JSONValue, JSONSyntaxError>? = bytes.withContiguousStorageIfAvailable { buffer in
      Result { () throws(JSONSyntaxError) in try JSONParser.parse(buffer, maxDepth: maxDepth) }
    }
    if let result { return try result.get() }
    return try Array(bytes).withUnsafeBufferPointer { buffer throws(JSONSyntaxError) in try JSONParser.parse(buffer, maxDepth: maxDepth) }
  }

  /// Compact JSON text with sorted keys (stable, so usable in keys and tests); a
  /// non-finite number is written as `null`, as `JSONText` writes every JSON.
  public var compactText: String {
    // Cannot fail: strings, integers, finite doubles, null and booleans are all representable.
    try! JSONText.string(self)
  }

  /// A short name of the value's JSON type, for error messages.
  public var typeName: String {
    switch self {
    case .null: return "null"
    case .bool: return "a boolean"
    case .int, .uint, .double: return "a number"
    case .string: return "a string"
    case .array: return "an array"
    case .object: return "an object"
    }
  }

  /// The value as an integer, when it is one.
  public var intValue: Int? { if case .int(let v) = self { v } else { nil } }
  /// The value as an unsigned 64-bit integer, when it is a non-negative integer (seeds).
  public var uint64Value: UInt64? {
    switch self {
    case .int(let v) where v >= 0: UInt64(v)
    case .uint(let v): v
    default: nil
    }
  }
  /// The value as a number (integers included).
  public var doubleValue: Double? {
    switch self {
    case .int(let v): Double(v)
    case .uint(let v): Double(v)
    case .double(let v): v
    default: nil
    }
  }
  /// The value as a string, when it is one.
  public var stringValue: String? { if case .string(let v) = self { v } else { nil } }
  /// The elements, when the value is an array.
  public var arrayValue: [JSONValue]? { if case .array(let v) = self { v } else { nil } }
  /// The members, when the value is an object.
  public var objectValue: [String: JSONValue]? { if case .object(let v) = self { v } else { nil } }
}
