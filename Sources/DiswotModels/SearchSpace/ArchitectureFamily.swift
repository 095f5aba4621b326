import DiswotJSON

/// What kind of network a search space's genotypes describe, with the family's fixed settings.
public enum ArchitectureFamily: Sendable, Equatable {
  /// CIFAR ResNets of basic blocks; choices `depths` and `widths`, one position per stage.
  case resnetCIFAR(shortcut: ShortcutType, classifierName: String)

  /// The family's name in search-space files.
  public var name: String {
    switch self {
    case .resnetCIFAR: return "resnet-cifar"
    }
  }

  static func read(
    name: String, settings: [String: JSONValue], choices: [SearchSpace.Choice], reader: SearchSpaceReader
  ) throws(SearchSpaceError) -> ArchitectureFamily {
    switch name {
    case "resnet-cifar":
      try reader.onlyKnown(settings, ["shortcut", "classifier"])
      let shortcutName = settings["shortcut"] == nil ? "B" : try reader.string(settings, "shortcut", path: "settings.shortcut")
      guard let shortcut = ShortcutType(rawValue: shortcutName) else {
        throw reader.fail("settings.shortcut", "must be \"A\" or \"B\", got \"\(shortcutName)\"")
      }
      let classifier = settings["classifier"] == nil ? "fc" : try reader.string(settings, "classifier", path: "settings.classifier")
      guard classifier == "fc" || classifier == "linear" else {
        throw reader.fail("settings.classifier", "must be \"fc\" or \"linear\", got \"\(classifier)\"")
      }
      let depths = try reader.intChoice(choices, "depths", in: 1...ResNetDescription.maxBlocksPerStage)
      let widths = try reader.intChoice(choices, "widths", in: 1...ResNetDescription.maxWidth)
      guard depths.options.count == widths.options.count, choices.count == 2 else {
        throw reader.fail("choices", "a resnet-cifar space has exactly 'depths' and 'widths', with one position per stage each")
      }
      return .resnetCIFAR(shortcut: shortcut, classifierName: classifier)
    default:
      throw reader.fail("family", "unknown family '\(name)' (known: resnet-cifar)")
    }
  }

  /// Number of distinct architectures.
  func size(of space: SearchSpace) -> Double {
    space.choices.reduce(1.0) { total, choice in choice.options.reduce(total) { $0 * Double($1.count) } }
  }

  /// A canonical, human-readable key: equal keys mean equal networks.
  func key(of g: Genotype, in space: SearchSpace) -> String {
    space.choices.enumerated().map { c, choice in
      choice.name + "=" + g.choices[c].enumerated().map { p, i in choice.options[p][i].keyText }.joined(separator: ",")
    }.joined(separator: ";")
  }

  /// The network a genotype describes.
  func build(_ g: Genotype, in space: SearchSpace, classCount: Int) throws(ModelError) -> any Classifier {
    switch self {
    case .resnetCIFAR(let shortcut, let classifierName):
      let values = space.intValues(of: g)
      return try ResNetCIFAR(ResNetDescription(
        blocksPerStage: values["depths"]!, widths: values["widths"]!, shortcut: shortcut,
        classCount: classCount, classifierName: classifierName, inputChannels: space.inputShape[0]))
    }
  }
}

extension JSONValue {
  /// The option as written in keys: integers and strings without quotes.
  var keyText: String {
    switch self {
    case .int(let v): return String(v)
    case .string(let s): return s
    default: return compactText
    }
  }
}
