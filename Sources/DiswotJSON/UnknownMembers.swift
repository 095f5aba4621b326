extension JSONValue {
  /// The path of the first member of this value that `known` lacks, descending into
  /// objects and arrays; null members are allowed (an absent optional re-encodes as
  /// nothing). With `known` the re-encoding of what a `Decodable` read from this value,
  /// that is the first member the type did not read: how the daemon's requests and
  /// `diswot train --config` reject a misspelt field instead of silently ignoring it.
  public func firstUnknownMember(known: JSONValue, path: String) -> String? {
    switch (self, known) {
    case (.object(let g), .object(let k)):
      for name in g.keys.sorted() {
        let value = g[name]!
        guard let knownValue = k[name] else {
          if value == .null { continue }
          return "\(path).\(name)"
        }
        if let unknown = value.firstUnknownMember(known: knownValue, path: "\(path).\(name)") { return unknown }
      }
      return nil
    case (.array(let g), .array(let k)) where g.count == k.count:
      for (i, (a, b)) in zip(g, k).enumerated() {
        if let unknown = a.firstUnknownMember(known: b, path: "\(path)[\(i)]") { return unknown }
      }
      return nil
    default:
      return nil
    }
  }
}
