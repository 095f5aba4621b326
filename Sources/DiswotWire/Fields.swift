import DiswotJSON
import Foundation

/// Reads the fields of a body object, each failure an `invalid_argument` naming the field.
struct Fields {
  let object: [String: JSONValue]
  let context: String

  init(_ object: [String: JSONValue], _ context: String) {
    self.object = object
    self.context = context
  }

  /// The fields of an array element that must be an object.
  static func element(_ value: JSONValue, _ context: String, _ path: String) throws(ProtocolError) -> Fields {
    guard let object = value.objectValue else {
      throw ProtocolError(.invalidArgument, "\(context): \(path) must be an object, not \(value.typeName)")
    }
    return Fields(object, "\(context) \(path)")
  }

  func fail(_ key: String, _ problem: String) -> ProtocolError {
    ProtocolError(.invalidArgument, "\(context): field '\(key)' \(problem)")
  }

  private func required(_ key: String) throws(ProtocolError) -> JSONValue {
    guard let value = object[key], value != .null else { throw fail(key, "is missing") }
    return value
  }

  func string(_ key: String, maxBytes: Int, allowEmpty: Bool = false) throws(ProtocolError) -> String {
    let value = try required(key)
    guard let s = value.stringValue else { throw fail(key, "must be a string, not \(value.typeName)") }
    guard allowEmpty || !s.isEmpty else { throw fail(key, "must not be empty") }
    guard s.utf8.count <= maxBytes else { throw fail(key, "is longer than \(maxBytes) bytes") }
    return s
  }

  func optionalString(_ key: String, maxBytes: Int) throws(ProtocolError) -> String? {
    guard let value = object[key], value != .null else { return nil }
    return try string(key, maxBytes: maxBytes, allowEmpty: true)
  }

  /// An id such as `task_id`: 1–128 bytes of printable ASCII.
  func identifier(_ key: String) throws(ProtocolError) -> String {
    let s = try string(key, maxBytes: 128)
    guard WireProtocol.isValidRequestID(Array(s.utf8)) else { throw fail(key, "must be printable ASCII without spaces") }
    return s
  }

  func int(_ key: String, in range: ClosedRange<Int>) throws(ProtocolError) -> Int {
    let value = try required(key)
    guard let n = value.intValue else { throw fail(key, "must be an integer, not \(value.typeName)") }
    guard range.contains(n) else { throw fail(key, "must be between \(range.lowerBound) and \(range.upperBound), got \(n)") }
    return n
  }

  func optionalInt(_ key: String) throws(ProtocolError) -> Int? {
    guard let value = object[key], value != .null else { return nil }
    guard let n = value.intValue else { throw fail(key, "must be an integer, not \(value.typeName)") }
    return n
  }

  func double(_ key: String) throws(ProtocolError) -> Double {
    let value = try required(key)
    guard let x = value.doubleValue else { throw fail(key, "must be a number, not \(value.typeName)") }
    return x
  }

  func object(_ key: String) throws(ProtocolError) -> [String: JSONValue] {
    let value = try required(key)
    guard let o = value.objectValue else { throw fail(key, "must be an object, not \(value.typeName)") }
    return o
  }

  func optionalObject(_ key: String) throws(ProtocolError) -> [String: JSONValue]? {
    guard let value = object[key], value != .null else { return nil }
    guard let o = value.objectValue else { throw fail(key, "must be an object, not \(value.typeName)") }
    return o
  }

  func array(_ key: String, count: ClosedRange<Int>) throws(ProtocolError) -> [JSONValue] {
    let value = try required(key)
    guard let a = value.arrayValue else { throw fail(key, "must be an array, not \(value.typeName)") }
    guard count.contains(a.count) else { throw fail(key, "must have \(count.lowerBound)-\(count.upperBound) elements, got \(a.count)") }
    return a
  }

  func stringArray(_ key: String, maxCount: Int) throws(ProtocolError) -> [String] {
    var result: [String] = []
    for (i, item) in try array(key, count: 0...maxCount).enumerated() {
      guard let s = item.stringValue, !s.isEmpty, s.utf8.count <= 64 else { throw fail("\(key)[\(i)]", "must be a non-empty string of at most 64 bytes") }
      result.append(s)
    }
    return result
  }
}
