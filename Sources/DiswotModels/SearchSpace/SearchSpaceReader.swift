import DiswotJSON

/// Validates a search-space document field by field, naming the path of the first bad one.
struct SearchSpaceReader {
  let source: String

  /// The only format this version reads; a future format change gets a new tag.
  static let format = "diswot.search-space.v1"
  static let topLevelFields: Set<String> = ["format", "name", "description", "family", "input", "classes", "settings", "choices", "limits"]
  /// Far above any shipped space, far below what would exhaust memory.
  static let maxPositions = 256
  static let maxOptions = 1024

  func fail(_ field: String, _ reason: String) -> SearchSpaceError {
    .invalidFile(source: source, field: field, reason: reason)
  }

  func read(_ json: JSONValue) throws(SearchSpaceError) -> SearchSpace {
    guard let top = json.objectValue else { throw fail("", "the document must be a JSON object, not \(json.typeName)") }
    for key in top.keys where !Self.topLevelFields.contains(key) {
      throw fail(key, "unknown field (known: \(Self.topLevelFields.sorted().joined(separator: ", ")))")
    }
    guard top["format"]?.stringValue == Self.format else {
      throw fail("format", "must be \"\(Self.format)\"")
    }
    let name = try string(top, "name")
    guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
      throw fail("name", "must be non-empty letters, digits, '-' or '_'")
    }
    let input = try object(top, "input")
    let inputShape = [try int(input, "channels", in: 1...64, path: "input.channels"),
                      try int(input, "height", in: 1...4096, path: "input.height"),
                      try int(input, "width", in: 1...4096, path: "input.width")]
    let classes = try int(top, "classes", in: 1...ResNetDescription.maxClasses, path: "classes")
    let choices = try readChoices(try object(top, "choices"))
    let limits = try readLimits(top["limits"])
    let family = try ArchitectureFamily.read(
      name: try string(top, "family"), settings: top["settings"]?.objectValue ?? [:], choices: choices, reader: self)
    if case .resnetImageNet = family, inputShape[1] < TorchvisionResNetDescription.minInputSize || inputShape[2] < TorchvisionResNetDescription.minInputSize {
      throw fail("input", "a resnet-imagenet network needs images of at least 32×32, got \(inputShape[1])×\(inputShape[2])")
    }
    return SearchSpace(
      name: name, summary: top["description"]?.stringValue ?? "", family: family, inputShape: inputShape,
      classCount: classes, choices: choices, limits: limits)
  }

  private func readChoices(_ members: [String: JSONValue]) throws(SearchSpaceError) -> [SearchSpace.Choice] {
    guard !members.isEmpty else { throw fail("choices", "must name at least one choice") }
    var choices: [SearchSpace.Choice] = []
    for name in members.keys.sorted() {
      guard let positions = members[name]!.arrayValue, (1...Self.maxPositions).contains(positions.count) else {
        throw fail("choices.\(name)", "must be an array of 1 to \(Self.maxPositions) positions, each an array of options")
      }
      var options: [[JSONValue]] = []
      for (p, position) in positions.enumerated() {
        let path = "choices.\(name)[\(p)]"
        guard let values = position.arrayValue, (1...Self.maxOptions).contains(values.count) else {
          throw fail(path, "must be a non-empty array of at most \(Self.maxOptions) options")
        }
        for value in values {
          switch value {
          case .int, .string: break
          default: throw fail(path, "options must be integers or strings, found \(value.typeName)")
          }
        }
        guard Set(values).count == values.count else { throw fail(path, "lists an option twice") }
        options.append(values)
      }
      choices.append(SearchSpace.Choice(name: name, options: options))
    }
    return choices
  }

  private func readLimits(_ value: JSONValue?) throws(SearchSpaceError) -> SearchSpace.Limits {
    guard let value else { return SearchSpace.Limits() }
    guard let members = value.objectValue else { throw fail("limits", "must be an object") }
    for key in members.keys where key != "max_params" && key != "max_macs" {
      throw fail("limits.\(key)", "unknown limit (known: max_macs, max_params)")
    }
    return SearchSpace.Limits(
      maxParams: members["max_params"] == nil ? nil : try int(members, "max_params", in: 1...Int(1e12), path: "limits.max_params"),
      maxMACs: members["max_macs"] == nil ? nil : try int(members, "max_macs", in: 1...Int(1e15), path: "limits.max_macs"))
  }

  // MARK: Field helpers shared with the family readers

  func string(_ object: [String: JSONValue], _ key: String, path: String? = nil) throws(SearchSpaceError) -> String {
    guard let value = object[key] else { throw fail(path ?? key, "is missing") }
    guard let text = value.stringValue else { throw fail(path ?? key, "must be a string, not \(value.typeName)") }
    return text
  }

  func int(_ object: [String: JSONValue], _ key: String, in range: ClosedRange<Int>, path: String) throws(SearchSpaceError) -> Int {
    guard let value = object[key] else { throw fail(path, "is missing") }
    guard let number = value.intValue else { throw fail(path, "must be an integer, not \(value.typeName)") }
    guard range.contains(number) else { throw fail(path, "must be between \(range.lowerBound) and \(range.upperBound), got \(number)") }
    return number
  }

  func object(_ object: [String: JSONValue], _ key: String) throws(SearchSpaceError) -> [String: JSONValue] {
    guard let value = object[key] else { throw fail(key, "is missing") }
    guard let members = value.objectValue else { throw fail(key, "must be an object, not \(value.typeName)") }
    return members
  }

  /// Checks that a settings object holds only `known` keys.
  func onlyKnown(_ settings: [String: JSONValue], _ known: Set<String>) throws(SearchSpaceError) {
    for key in settings.keys where !known.contains(key) {
      throw fail("settings.\(key)", "unknown setting for this family (known: \(known.sorted().joined(separator: ", ")))")
    }
  }

  /// The choice called `name`, which the family requires, with integer options in `range`.
  func intChoice(_ choices: [SearchSpace.Choice], _ name: String, in range: ClosedRange<Int>) throws(SearchSpaceError) -> SearchSpace.Choice {
    guard let choice = choices.first(where: { $0.name == name }) else {
      throw fail("choices.\(name)", "is missing; this family needs it")
    }
    for (p, options) in choice.options.enumerated() {
      for option in options {
        guard let v = option.intValue, range.contains(v) else {
          throw fail("choices.\(name)[\(p)]", "options must be integers between \(range.lowerBound) and \(range.upperBound), found \(option.compactText)")
        }
      }
    }
    return choice
  }
}
