import DiswotJSON

/// Reading architectures back from the keys `diswot score` and `diswot search` print, and
/// the metadata that lets a weights file name its architecture.
extension SearchSpace {
  /// The genotype a key (`key(of:)`) names: `depths=3,3,3;widths=16,32,64`, with only the
  /// active positions listed (a MobileNetV2 stage of depth 2 lists two expansions), or,
  /// for NAS-Bench-201, the benchmark's cell string.
  public func genotype(fromKey key: String) throws(SearchSpaceError) -> Genotype {
    func fail(_ reason: String) -> SearchSpaceError { .invalidArchitecture(space: name, reason: reason) }
    if case .nasBench201 = family { return try genotype(fromJSON: .string(key)) }
    var listed: [String: [String]] = [:]
    for part in key.split(separator: ";", omittingEmptySubsequences: false) {
      let pair = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      guard pair.count == 2, listed[String(pair[0])] == nil else {
        throw fail("a key is choice=value,value,…;choice=…, each choice once; '\(part)' is not")
      }
      guard choiceIndex(String(pair[0])) != nil else {
        throw fail("unknown choice '\(pair[0])' (this space has: \(choices.map(\.name).joined(separator: ", ")))")
      }
      listed[String(pair[0])] = pair[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    }
    for choice in choices where listed[choice.name] == nil { throw fail("the key lists no '\(choice.name)'") }

    // Which positions a choice lists depends on other choices (MobileNetV2 depths), so
    // fill in every choice whose count fits until nothing changes.
    var g = Genotype(choices: choices.map { [Int](repeating: 0, count: $0.options.count) })
    for _ in 0...choices.count {
      var next = g
      for (c, choice) in choices.enumerated() {
        let active = choice.options.indices.filter { family.isActive(choice: c, position: $0, in: g, of: self) }
        let values = listed[choice.name]!
        guard values.count == active.count else { continue }
        for (p, text) in zip(active, values) {
          guard let i = choice.options[p].firstIndex(where: { $0.keyText == text }) else {
            throw fail("\(choice.name)[\(p)] = \(text) is not one of \(JSONValue.array(choice.options[p]).compactText)")
          }
          next.choices[c][p] = i
        }
      }
      if next == g { break }
      g = next
    }
    for (c, choice) in choices.enumerated() {
      let active = choice.options.indices.filter { family.isActive(choice: c, position: $0, in: g, of: self) }
      guard listed[choice.name]!.count == active.count else {
        throw fail("'\(choice.name)' lists \(listed[choice.name]!.count) values, this architecture has \(active.count) positions")
      }
    }
    return family.canonical(g, in: self)
  }

  /// What a weights file of `model`, the network `g` describes, records: the model's own
  /// metadata and, so that `ModelZoo.loadAny` can rebuild it, the space's name and the
  /// architecture's JSON and key. These override the model's entries of the same name (a
  /// NAS-Bench-201 network's `genotype` is its bare cell string).
  public func metadata(of g: Genotype, model: any Classifier) -> [String: String] {
    model.metadata.merging(["space": name, "genotype": json(of: g).compactText, "key": key(of: g)]) { _, space in space }
  }
}
