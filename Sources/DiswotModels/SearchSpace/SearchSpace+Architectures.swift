import DiswotJSON
import DiswotTensor

/// Turning genotypes into JSON, keys and networks, and drawing them from the space.
extension SearchSpace {
  /// The genotype a JSON architecture describes (`{"depths": [3, 5, 7], "widths": [16, 32, 64]}`;
  /// for NAS-Bench-201 `{"cell": "|nor_conv_3x3~0|+…"}`), checking that every value is one
  /// of its position's options.
  public func genotype(fromJSON json: JSONValue) throws(SearchSpaceError) -> Genotype {
    func fail(_ reason: String) -> SearchSpaceError { .invalidArchitecture(space: name, reason: reason) }
    if case .nasBench201 = family { return try nasBench201Genotype(fromJSON: json) }
    guard let members = json.objectValue else { throw fail("an architecture is a JSON object, not \(json.typeName)") }
    for key in members.keys where choiceIndex(key) == nil {
      throw fail("unknown choice '\(key)' (this space has: \(choices.map(\.name).joined(separator: ", ")))")
    }
    var result: [[Int]] = []
    for choice in choices {
      guard let values = members[choice.name]?.arrayValue else {
        throw fail("'\(choice.name)' must be an array of \(choice.options.count) values")
      }
      guard values.count == choice.options.count else {
        throw fail("'\(choice.name)' has \(values.count) values, the space has \(choice.options.count) positions")
      }
      var indices: [Int] = []
      for (p, value) in values.enumerated() {
        guard let i = choice.options[p].firstIndex(of: value) else {
          throw fail("\(choice.name)[\(p)] = \(value.compactText) is not one of \(JSONValue.array(choice.options[p]).compactText)")
        }
        indices.append(i)
      }
      result.append(indices)
    }
    return family.canonical(Genotype(choices: result), in: self)
  }

  /// `{"cell": "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|"}` or the bare string.
  private func nasBench201Genotype(fromJSON json: JSONValue) throws(SearchSpaceError) -> Genotype {
    func fail(_ reason: String) -> SearchSpaceError { .invalidArchitecture(space: name, reason: reason) }
    guard let text = json.stringValue ?? json.objectValue?["cell"]?.stringValue,
      json.objectValue.map({ $0.count == 1 }) ?? true
    else { throw fail(#"a NAS-Bench-201 architecture is {"cell": "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|"}"#) }
    let cell: NASBench201Genotype
    do { cell = try NASBench201Genotype(string: text) } catch { throw .model(space: name, error) }
    let edges = choices[0]
    var indices: [Int] = []
    for (p, op) in cell.ops.enumerated() {
      guard let i = edges.options[p].firstIndex(of: .string(op.rawValue)) else {
        throw fail("edge \(p) is \(op.rawValue), not one of \(JSONValue.array(edges.options[p]).compactText)")
      }
      indices.append(i)
    }
    return Genotype(choices: [indices])
  }

  /// The JSON form of a genotype: choice name → value per position (NAS-Bench-201: its
  /// cell string).
  public func json(of g: Genotype) -> JSONValue {
    if case .nasBench201 = family { return ["cell": .string(key(of: g))] }
    return .object(Dictionary(uniqueKeysWithValues: choices.enumerated().map { c, choice in
      (choice.name, JSONValue.array(g.choices[c].enumerated().map { p, i in choice.options[p][i] }))
    }))
  }

  /// The canonical key of a genotype (equal keys, equal networks).
  public func key(of g: Genotype) -> String { family.key(of: g, in: self) }

  /// Integer values per choice, for families whose options are numbers.
  func intValues(of g: Genotype) -> [String: [Int]] {
    Dictionary(uniqueKeysWithValues: choices.enumerated().map { c, choice in
      (choice.name, g.choices[c].enumerated().map { p, i in choice.options[p][i].intValue ?? 0 })
    })
  }

  /// Builds the network, enforcing the space's limits on parameters and MACs before
  /// anything is allocated (`footprint(of:)` checks them from the description).
  /// `classCount` overrides the space's (e.g. CIFAR-100 probe data).
  public func build(_ g: Genotype, classCount: Int? = nil) throws(SearchSpaceError) -> any Classifier {
    _ = try footprint(of: g, classCount: classCount)
    do {
      return try family.build(g, in: self, classCount: classCount ?? self.classCount)
    } catch {
      throw .model(space: name, error)
    }
  }

  /// A uniformly random option at every position (inactive positions then canonical).
  public func sample(using rng: inout SeededGenerator) -> Genotype {
    family.canonical(
      Genotype(choices: choices.map { choice in choice.options.map { Int(rng.next() % UInt64($0.count)) } }), in: self)
  }

  /// Every architecture once, in a fixed order (the last position varies fastest).
  public func enumerate(limit: Int = 1_000_000) throws(SearchSpaceError) -> [Genotype] {
    let combinations = choices.reduce(1.0) { total, choice in choice.options.reduce(total) { $0 * Double($1.count) } }
    guard combinations <= Double(limit) else {
      throw .tooLarge(space: name, reason: "\(size) architectures (\(combinations) genotype combinations); enumeration stops at \(limit) — sample instead")
    }
    var seen = Set<Genotype>()
    let radices = choices.flatMap { $0.options.map(\.count) }
    var digits = [Int](repeating: 0, count: radices.count)
    var result: [Genotype] = []
    while true {
      var rest = digits[...]
      let g = family.canonical(Genotype(choices: choices.map { choice in
        let part = Array(rest.prefix(choice.options.count))
        rest = rest.dropFirst(choice.options.count)
        return part
      }), in: self)
      if seen.insert(g).inserted { result.append(g) }
      var i = radices.count - 1
      while i >= 0 {
        digits[i] += 1
        if digits[i] < radices[i] { break }
        digits[i] = 0
        i -= 1
      }
      if i < 0 { return result }
    }
  }
}
