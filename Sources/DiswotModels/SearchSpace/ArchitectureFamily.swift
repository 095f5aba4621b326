import DiswotJSON

/// What kind of network a search space's genotypes describe, with the family's fixed settings.
///
/// The family gives the space's choices their meaning: which choices must exist, which
/// positions are active in a given genotype (a MobileNetV2 stage of depth 2 ignores its
/// third block's kernel), how an architecture is written and keyed, and how it is built.
public enum ArchitectureFamily: Sendable, Equatable {
  /// CIFAR ResNets of basic blocks; choices `depths` and `widths`, one position per stage.
  case resnetCIFAR(shortcut: ShortcutType, classifierName: String)
  /// torchvision-layout ImageNet ResNets (7×7 stem, max pool, `fc`) of one block kind;
  /// choices `depths` and `widths`, one position per stage, as `resnetCIFAR`.
  case resnetImageNet(block: ResNetBlockKind)
  /// NAS-Bench-201 cell networks; choice `edges`, six positions of operation names.
  case nasBench201(channels: Int, cellsPerStage: Int)
  /// MobileNetV2-style networks; choices `depths` (per stage), `expansions` and `kernels`
  /// (per block slot, each stage owning as many slots as its largest depth).
  case mobileNetV2(MobileNetV2Settings)

  /// The family's name in search-space files.
  public var name: String {
    switch self {
    case .resnetCIFAR: return "resnet-cifar"
    case .resnetImageNet: return "resnet-imagenet"
    case .nasBench201: return "nas-bench-201"
    case .mobileNetV2: return "mobilenetv2"
    }
  }

  static let names = ["resnet-cifar", "resnet-imagenet", "nas-bench-201", "mobilenetv2"]

  static func read(
    name: String, settings: [String: JSONValue], choices: [SearchSpace.Choice], reader: SearchSpaceReader
  ) throws(SearchSpaceError) -> ArchitectureFamily {
    switch name {
    case "resnet-cifar": return try readResNet(settings, choices, reader)
    case "resnet-imagenet": return try readResNetImageNet(settings, choices, reader)
    case "nas-bench-201": return try readNASBench201(settings, choices, reader)
    case "mobilenetv2": return try .mobileNetV2(MobileNetV2Settings.read(settings, choices, reader))
    default: throw reader.fail("family", "unknown family '\(name)' (known: \(names.joined(separator: ", ")))")
    }
  }

  /// Number of distinct architectures.
  func size(of space: SearchSpace) -> Double {
    if case .mobileNetV2(let settings) = self { return settings.size(of: space) }
    return space.choices.reduce(1.0) { total, choice in choice.options.reduce(total) { $0 * Double($1.count) } }
  }

  /// Whether position `p` of choice `c` affects the network for genotype `g`.
  func isActive(choice c: Int, position p: Int, in g: Genotype, of space: SearchSpace) -> Bool {
    if case .mobileNetV2(let settings) = self { return settings.isActive(choice: c, position: p, in: g, of: space) }
    return true
  }

  /// The genotype with every inactive position at its first option, so equal networks
  /// have equal genotypes.
  func canonical(_ g: Genotype, in space: SearchSpace) -> Genotype {
    var result = g
    for c in g.choices.indices {
      for p in g.choices[c].indices where !isActive(choice: c, position: p, in: g, of: space) { result.choices[c][p] = 0 }
    }
    return result
  }

  /// A canonical, human-readable key: equal keys mean equal networks. NAS-Bench-201
  /// architectures are keyed by the benchmark's own string, so results can be looked up.
  func key(of g: Genotype, in space: SearchSpace) -> String {
    if case .nasBench201 = self { return nasBench201Genotype(g, in: space).string }
    return space.choices.enumerated().map { c, choice in
      let active = g.choices[c].enumerated().filter { p, _ in isActive(choice: c, position: p, in: g, of: space) }
      return choice.name + "=" + active.map { p, i in choice.options[p][i].keyText }.joined(separator: ",")
    }.joined(separator: ";")
  }

  /// Every channel count the last feature map of an architecture of the space can have
  /// (what decides whether DisWOT's per-class semantic form applies).
  func featureChannelOptions(of space: SearchSpace) -> Set<Int> {
    switch self {
    case .resnetCIFAR:
      return Set(space.choices[space.choiceIndex("widths")!].options.last!.compactMap(\.intValue))
    case .resnetImageNet(let block):
      return Set(space.choices[space.choiceIndex("widths")!].options.last!.compactMap { $0.intValue.map { $0 * block.expansion } })
    case .nasBench201(let channels, _):
      return [4 * channels]
    case .mobileNetV2(let settings):
      return [settings.lastWidth]
    }
  }

  /// The description of a network, in its family's terms: what a genotype of a space, a
  /// model name (`ModelName`) or a weights file resolves to.
  public enum NetworkDescription: Sendable, Equatable {
    case resnet(ResNetDescription)
    case torchvisionResNet(TorchvisionResNetDescription)
    case nasBench201(NASBench201Description)
    case mobileNetV2(MobileNetV2Description)
    /// RepDistiller's wide ResNets (`wrn_40_2`).
    case wideResNet(WideResNetDescription)
    /// RepDistiller's VGGs with batch norm (`vgg8`).
    case vgg(VGGDescription)

    public var classCount: Int {
      switch self {
      case .resnet(let d): return d.classCount
      case .torchvisionResNet(let d): return d.classCount
      case .nasBench201(let d): return d.classCount
      case .mobileNetV2(let d): return d.classCount
      case .wideResNet(let d): return d.classCount
      case .vgg(let d): return d.classCount
      }
    }

    public var inputChannels: Int {
      switch self {
      case .resnet(let d): return d.inputChannels
      case .torchvisionResNet(let d): return d.inputChannels
      case .nasBench201(let d): return d.inputChannels
      case .mobileNetV2(let d): return d.inputChannels
      case .wideResNet(let d): return d.inputChannels
      case .vgg(let d): return d.inputChannels
      }
    }

    /// Whether both describe the same layers: everything but the class count, and for
    /// ResNets the shortcut type and classifier name (what a weights file decides, not a
    /// model name).
    public func hasSameArchitecture(as other: NetworkDescription) -> Bool {
      switch (self, other) {
      case (.resnet(let a), .resnet(let b)):
        return a.blocksPerStage == b.blocksPerStage && a.widths == b.widths && a.stem == b.stem
          && a.inputChannels == b.inputChannels
      case (.torchvisionResNet(var a), .torchvisionResNet(let b)):
        a.classCount = b.classCount
        return a == b
      case (.nasBench201(var a), .nasBench201(let b)):
        a.classCount = b.classCount
        return a == b
      case (.mobileNetV2(var a), .mobileNetV2(let b)):
        a.classCount = b.classCount
        return a == b
      case (.wideResNet(var a), .wideResNet(let b)):
        a.classCount = b.classCount
        return a == b
      case (.vgg(var a), .vgg(let b)):
        a.classCount = b.classCount
        return a == b
      default:
        return false
      }
    }

    /// The network, weights uninitialised.
    public func build() throws(ModelError) -> any Classifier {
      switch self {
      case .resnet(let d): return try ResNetCIFAR(d)
      case .torchvisionResNet(let d): return try TorchvisionResNet(d)
      case .nasBench201(let d): return try NASBench201Network(d)
      case .mobileNetV2(let d): return try MobileNetV2Network(d)
      case .wideResNet(let d): return try WideResNet(d)
      case .vgg(let d): return try VGGNetwork(d)
      }
    }

    /// Its memory footprint on `height`×`width` images, without building it.
    public func footprint(height h: Int, width w: Int) throws(ModelError) -> MemoryFootprint {
      switch self {
      case .resnet(let d): return try d.footprint(height: h, width: w)
      case .torchvisionResNet(let d): return try d.footprint(height: h, width: w)
      case .nasBench201(let d): return try d.footprint(height: h, width: w)
      case .mobileNetV2(let d): return try d.footprint(height: h, width: w)
      case .wideResNet(let d): return try d.footprint(height: h, width: w)
      case .vgg(let d): return try d.footprint(height: h, width: w)
      }
    }
  }

  func describe(_ g: Genotype, in space: SearchSpace, classCount: Int) -> NetworkDescription {
    switch self {
    case .resnetCIFAR(let shortcut, let classifierName):
      let values = space.intValues(of: g)
      return .resnet(ResNetDescription(
        blocksPerStage: values["depths"]!, widths: values["widths"]!, shortcut: shortcut,
        classCount: classCount, classifierName: classifierName, inputChannels: space.inputShape[0]))
    case .resnetImageNet(let block):
      let values = space.intValues(of: g)
      return .torchvisionResNet(TorchvisionResNetDescription(
        block: block, blocksPerStage: values["depths"]!, widths: values["widths"]!, classCount: classCount,
        inputChannels: space.inputShape[0]))
    case .nasBench201(let channels, let cells):
      return .nasBench201(NASBench201Description(
        genotype: nasBench201Genotype(g, in: space), channels: channels, cellsPerStage: cells,
        classCount: classCount, inputChannels: space.inputShape[0]))
    case .mobileNetV2(let settings):
      return .mobileNetV2(settings.description(of: g, in: space, classCount: classCount))
    }
  }

  /// The network a genotype describes.
  func build(_ g: Genotype, in space: SearchSpace, classCount: Int) throws(ModelError) -> any Classifier {
    try describe(g, in: space, classCount: classCount).build()
  }

  /// The memory footprint of the network a genotype describes, without building it.
  func footprint(_ g: Genotype, in space: SearchSpace, classCount: Int) throws(ModelError) -> MemoryFootprint {
    try describe(g, in: space, classCount: classCount).footprint(height: space.inputShape[1], width: space.inputShape[2])
  }

  // MARK: ResNet

  private static func readResNet(
    _ settings: [String: JSONValue], _ choices: [SearchSpace.Choice], _ reader: SearchSpaceReader
  ) throws(SearchSpaceError) -> ArchitectureFamily {
    try reader.onlyKnown(settings, ["shortcut", "classifier"])
    let shortcutName = settings["shortcut"] == nil ? "B" : try reader.string(settings, "shortcut", path: "settings.shortcut")
    guard let shortcut = ShortcutType(rawValue: shortcutName) else {
      throw reader.fail("settings.shortcut", "must be \"A\" or \"B\", got \"\(shortcutName)\"")
    }
    let classifier = settings["classifier"] == nil ? "fc" : try reader.string(settings, "classifier", path: "settings.classifier")
    guard classifier == "fc" || classifier == "linear" else {
      throw reader.fail("settings.classifier", "must be \"fc\" or \"linear\", got \"\(classifier)\"")
    }
    try readStages(choices, reader, family: "resnet-cifar")
    return .resnetCIFAR(shortcut: shortcut, classifierName: classifier)
  }

  /// Choices `depths` and `widths` with as many positions (stages) each, and nothing else.
  private static func readStages(
    _ choices: [SearchSpace.Choice], _ reader: SearchSpaceReader, family: String
  ) throws(SearchSpaceError) {
    let depths = try reader.intChoice(choices, "depths", in: 1...ResNetDescription.maxBlocksPerStage)
    let widths = try reader.intChoice(choices, "widths", in: 1...ResNetDescription.maxWidth)
    guard depths.options.count == widths.options.count, choices.count == 2 else {
      throw reader.fail("choices", "a \(family) space has exactly 'depths' and 'widths', with one position per stage each")
    }
  }

  /// `settings.block` is "basic" (default) or "bottleneck"; the input must be at least
  /// 32×32, what five halvings need.
  private static func readResNetImageNet(
    _ settings: [String: JSONValue], _ choices: [SearchSpace.Choice], _ reader: SearchSpaceReader
  ) throws(SearchSpaceError) -> ArchitectureFamily {
    try reader.onlyKnown(settings, ["block"])
    let blockName = settings["block"] == nil ? "basic" : try reader.string(settings, "block", path: "settings.block")
    guard let block = ResNetBlockKind(rawValue: blockName) else {
      throw reader.fail("settings.block", "must be \"basic\" or \"bottleneck\", got \"\(blockName)\"")
    }
    try readStages(choices, reader, family: "resnet-imagenet")
    return .resnetImageNet(block: block)
  }

  // MARK: NAS-Bench-201

  private static func readNASBench201(
    _ settings: [String: JSONValue], _ choices: [SearchSpace.Choice], _ reader: SearchSpaceReader
  ) throws(SearchSpaceError) -> ArchitectureFamily {
    try reader.onlyKnown(settings, ["channels", "cells_per_stage"])
    let channels = settings["channels"] == nil ? 16
      : try reader.int(settings, "channels", in: 1...NASBench201Description.maxChannels, path: "settings.channels")
    let cells = settings["cells_per_stage"] == nil ? 5
      : try reader.int(settings, "cells_per_stage", in: 1...NASBench201Description.maxCellsPerStage, path: "settings.cells_per_stage")
    guard choices.count == 1, let edges = choices.first, edges.name == "edges", edges.options.count == 6 else {
      throw reader.fail("choices", "a nas-bench-201 space has exactly one choice, 'edges', with 6 positions (1←0, 2←0, 2←1, 3←0, 3←1, 3←2)")
    }
    for (p, options) in edges.options.enumerated() {
      for option in options where option.stringValue.flatMap(NASBench201Operation.init(rawValue:)) == nil {
        throw reader.fail("choices.edges[\(p)]", "\(option.compactText) is not an operation (known: \(NASBench201Operation.allCases.map(\.rawValue).joined(separator: ", ")))")
      }
    }
    return .nasBench201(channels: channels, cellsPerStage: cells)
  }

  func nasBench201Genotype(_ g: Genotype, in space: SearchSpace) -> NASBench201Genotype {
    let edges = space.choices[0]
    let ops = g.choices[0].enumerated().map { p, i in NASBench201Operation(rawValue: edges.options[p][i].stringValue!)! }
    return try! NASBench201Genotype(ops: ops)  // six validated operations, by construction
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
