import Foundation

/// A JSON document kept untyped.
///
/// Readers of user-supplied JSON (safetensors headers, search-space files, architecture
/// genotypes, protocol bodies) check every field themselves so that an error names the
/// exact field and what was wrong with it, which a `Codable` struct would only report as
/// a coding path. Integers are kept apart from other numbers so that a shape or a channel
/// count written as `1.5` or `1e30` is rejected rather than rounded. Writers use the
/// literal forms for ad-hoc output: `["id": "abc", "score": 0.91, "ok": true]`.
public indirect enum JSONValue: Sendable, Hashable, Codable, ExpressibleByStringLiteral,
  ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral,
  ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
  case null
  case bool(Bool)
  case int(Int)
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
    case .double(let value) where !value.isFinite: try container.encodeNil()  // JSONText's rule
    case .double(let value): try container.encode(value)
    case .string(let value): try container.encode(value)
    case .array(let value): try container.encode(value)
    case .object(let value): try container.encode(value)
    }
  }

  /// Parses UTF-8 JSON text; nil when it is not valid JSON.
  public static func parse(_ bytes: some Collection<UInt8>) -> JSONValue? {
    try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
  }

  /// Parses JSON text; nil when it is not valid JSON.
  public static func parse(_ text: String) -> JSONValue? { parse(Array(text.utf8)) }

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
    case .int, .double: return "a number"
    case .string: return "a string"
    case .array: return "an array"
    case .object: return "an object"
    }
  }

  /// The value as an integer, when it is one.
  public var intValue: Int? { if case .int(let v) = self { v } else { nil } }
  /// The value as a number (integers included).
  public var doubleValue: Double? {
    switch self {
    case .int(let v): Double(v)
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
