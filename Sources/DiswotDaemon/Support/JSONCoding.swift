import DiswotJSON
import DiswotWire
import Foundation

/// Between `Codable` values and `JSONValue` bodies, and the daemon's strict reading of
/// request objects: a field it does not know is an `invalid_argument` naming it, so a typo
/// (`"budgte"`) never silently runs a different search.
enum JSONCoding {
  /// The JSON value of `value` (sorted keys; non-finite numbers null, see `JSONText`).
  static func value<T: Encodable>(_ value: T) throws -> JSONValue {
    guard let json = JSONValue.parse(Array(try JSONText.data(value))) else {
      throw WireError(.internal, "cannot re-read the JSON of \(T.self)")
    }
    return json
  }

  /// The JSON object of `value`.
  static func object<T: Encodable>(_ value: T) throws -> [String: JSONValue] {
    guard let object = try Self.value(value).objectValue else { throw WireError(.internal, "\(T.self) is not a JSON object") }
    return object
  }

  /// Compact JSON text of `value` (for the store's JSON columns), sorted keys, encoded in
  /// one pass (engine checkpoints are written with every evaluation).
  static func text<T: Encodable>(_ value: T) throws -> String { try JSONText.string(value) }

  /// Decodes `T` from a JSON value (no strictness).
  static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(value.compactText.utf8))
  }

  /// Decodes `T` from `value`, then rejects any member of `value` that `T` did not read:
  /// re-encoding the decoded value gives every field it knows, so a member absent from the
  /// re-encoding (and not null) is unknown. Errors are `invalid_argument` naming `path`.
  static func decodeStrict<T: Codable>(_ type: T.Type, from value: JSONValue, path: String) throws(WireError) -> T {
    let decoded: T
    do {
      decoded = try JSONDecoder().decode(T.self, from: Data(value.compactText.utf8))
    } catch let error as DecodingError {
      throw WireError(.invalidArgument, "\(path): \(describe(error))")
    } catch {
      throw WireError(.invalidArgument, "\(path): \(error)")
    }
    let known: JSONValue
    do { known = try Self.value(decoded) } catch { throw WireError(.invalidArgument, "\(path): \(error)") }
    if let unknown = value.firstUnknownMember(known: known, path: path) {
      throw WireError(.invalidArgument, "unknown field '\(unknown)'")
    }
    return decoded
  }

  static func describe(_ error: DecodingError) -> String {
    func at(_ context: DecodingError.Context) -> String {
      let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
      return keys.isEmpty ? "" : "field '\(keys.dropFirst(keys.hasPrefix(".") ? 1 : 0))' "
    }
    switch error {
    case .keyNotFound(let key, let c): return "\(at(c))missing field '\(key.stringValue)'"
    case .typeMismatch(let type, let c): return "\(at(c))has the wrong type (expected \(type))"
    case .valueNotFound(let type, let c): return "\(at(c))must not be null (expected \(type))"
    case .dataCorrupted(let c): return "\(at(c))\(c.debugDescription)"
    @unknown default: return "\(error)"
    }
  }
}
