/// The one way users name a network, wherever a model is accepted (`eval --model`,
/// `score`/`search --teacher`, `train --student`/`--teacher`, `export --model`, the
/// daemon's requests) and however a weights file is described back to them, so a name
/// printed by one command can be given to any other.
///
/// - `resnet{6n+2}` (`resnet20` … `resnet110`): the original CIFAR ResNets, 16/32/64
///   channels and n blocks per stage — aliases of the generic form below;
/// - `resnet-d{b1}_{b2}…-w{w1}_{w2}…` (`resnet-d1_1_1-w32_64_128`): any CIFAR ResNet of
///   basic blocks, by blocks and width per stage; `resnet-s{stem}-d…-w…` when the stem is
///   as wide as `stem` rather than the first stage;
/// - RepDistiller's CIFAR zoo under its own names: `resnet8x4`, `resnet32x4` (any
///   `resnet{6n+2}x4`), `wrn_16_1`, `wrn_16_2`, `wrn_40_1`, `wrn_40_2` (any
///   `wrn_{6n+4}_{k}`), `vgg8`, `vgg11`, `vgg13`, `vgg16`, `vgg19` (see
///   `ModelName+RepDistiller.swift`);
/// - `resnet18`, `resnet34`, `resnet50`, `resnet101`, `resnet152`: torchvision's ImageNet
///   ResNets (7×7 stem, max pool, four stages, `fc`). These five names are torchvision's
///   wherever a user meets them, so `resnet50` and `resnet152` — depths 6n+2 as well — no
///   longer name CIFAR ResNets: those are `resnet-d8_8_8-w16_32_64` and
///   `resnet-d25_25_25-w16_32_64`;
/// - `resnet-{basic|bottleneck}-d{b1}_…-w{w1}_…` (`resnet-basic-d1_2_2_1-w64_96_192_384`):
///   any network of torchvision's ResNet layout, by block, blocks and width per stage;
/// - `SPACE:KEY` (`nas-bench-201:|nor_conv_3x3~0|+…`, `mobilenetv2:depths=1,2,…;…`): an
///   architecture of a search space, keyed as `score` and `search` print it; a bare
///   NAS-Bench-201 cell string stands for `nas-bench-201:` and that string.
///
/// A name fixes the architecture's shape; what a weights file decides besides (classes,
/// a ResNet's shortcut type and classifier name) is read off the file, and a fresh
/// network takes them from its options.
public enum ModelName: Sendable, Hashable, CustomStringConvertible {
  /// A CIFAR ResNet; `stemWidth` when the stem is not as wide as the first stage.
  case resnet(blocksPerStage: [Int], widths: [Int], stemWidth: Int? = nil)
  /// RepDistiller's wide ResNet `wrn_{depth}_{widenFactor}`.
  case wideResNet(depth: Int, widenFactor: Int)
  /// RepDistiller's VGG with batch norm, `vgg{depth}`.
  case vgg(depth: Int)
  /// A torchvision-layout ImageNet ResNet.
  case torchvisionResNet(block: ResNetBlockKind, blocksPerStage: [Int], widths: [Int])
  /// An architecture of a search space: the space's name (or file) and the key.
  case architecture(space: String, key: String)

  /// The standard CIFAR widths, for which `resnet{depth}` is the name.
  static let standardWidths = [16, 32, 64]

  /// Parses a name, checking its syntax and a ResNet's sizes; a space architecture's key
  /// is checked when the space is loaded (`resolve`).
  public init(parsing text: String) throws(ModelError) {
    func unknown(_ reason: String? = nil) -> ModelError {
      .unknownModel("'\(text)'\(reason.map { ": \($0)" } ?? "") (\(Self.forms))")
    }
    if text.hasPrefix("|") {
      self = .architecture(space: "nas-bench-201", key: text)
      return
    }
    if let colon = text.firstIndex(of: ":") {
      let space = String(text[..<colon]), key = String(text[text.index(after: colon)...])
      guard !space.isEmpty, !key.isEmpty else { throw unknown("SPACE:KEY needs both") }
      self = .architecture(space: space, key: key)
      return
    }
    let lower = text.lowercased()
    func integers(_ s: Substring) -> [Int]? {
      let values = s.split(separator: "_", omittingEmptySubsequences: false).map { Int($0) }
      return values.contains(nil) || values.isEmpty ? nil : values.map { $0! }
    }
    if let name = try Self.repDistiller(lower, unknown: unknown) {
      self = name
      return
    }
    if let block = ResNetBlockKind.allCases.first(where: { lower.hasPrefix("resnet-\($0.rawValue)-d") }) {
      let parts = lower.dropFirst("resnet-\(block.rawValue)-d".count).split(separator: "-w", maxSplits: 1, omittingEmptySubsequences: false)
      guard parts.count == 2, let blocks = integers(parts[0]), let widths = integers(parts[1]) else { throw unknown() }
      do { try TorchvisionResNetDescription(block: block, blocksPerStage: blocks, widths: widths).validate() } catch { throw unknown("\(error)") }
      self = .torchvisionResNet(block: block, blocksPerStage: blocks, widths: widths)
      return
    }
    if lower.hasPrefix("resnet-d") || lower.hasPrefix("resnet-s") {
      var rest = lower.dropFirst("resnet-".count)
      var stem: Int?
      if rest.hasPrefix("s") {
        guard let dash = rest.firstIndex(of: "-"), let s = Int(rest.dropFirst()[..<dash]) else { throw unknown() }
        stem = s
        rest = rest[rest.index(after: dash)...]
      }
      guard rest.hasPrefix("d") else { throw unknown() }
      let parts = rest.dropFirst().split(separator: "-w", maxSplits: 1, omittingEmptySubsequences: false)
      guard parts.count == 2, let blocks = integers(parts[0]), let widths = integers(parts[1]) else { throw unknown() }
      // Shortcut B has no constraint on widths: the shortcut is checked when one is chosen.
      let d = ResNetDescription(blocksPerStage: blocks, widths: widths, shortcut: .b, stemWidth: stem)
      do { try d.validate() } catch { throw unknown("\(error)") }
      self = .resnet(blocksPerStage: blocks, widths: widths, stemWidth: d.stemWidth)
      return
    }
    guard lower.hasPrefix("resnet"), let depth = Int(lower.dropFirst("resnet".count)) else { throw unknown() }
    if let d = TorchvisionResNetDescription.standard(depth: depth) {
      self = .torchvisionResNet(block: d.block, blocksPerStage: d.blocksPerStage, widths: d.widths)
      return
    }
    let d: ResNetDescription
    do { d = try ResNetDescription.cifar(depth: depth) } catch { throw unknown("\(error)") }
    self = .resnet(blocksPerStage: d.blocksPerStage, widths: d.widths)
  }

  /// What a name may be, for error messages.
  static let forms = "a model is resnet20, resnet32, resnet44, resnet56, resnet110 or any resnet{6n+2} but 50 and 152 "
    + "(CIFAR ResNets); resnet-d{blocks}-w{widths} such as resnet-d3_3_3-w16_32_64 (resnet-s{stem}-d…-w… for a stem of its own); "
    + "resnet18, resnet34, resnet50, resnet101, resnet152 (torchvision's); "
    + "resnet-basic-d{blocks}-w{widths} or resnet-bottleneck-d{blocks}-w{widths} such as resnet-basic-d1_2_2_1-w64_96_192_384; "
    + "RepDistiller's resnet8x4, resnet32x4, wrn_16_1, wrn_16_2, wrn_40_1, wrn_40_2, vgg8, vgg11, vgg13, vgg16, vgg19; "
    + "SPACE:KEY such as "
    + "nas-bench-201:|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|; "
    + "or a bare NAS-Bench-201 cell string"

  /// The name as every command prints it: `resnet56` for the standard ResNets, otherwise
  /// the generic form; `SPACE:KEY` for a space's architectures.
  public var description: String {
    switch self {
    case .resnet(let blocks, let widths, let stem):
      return ResNetDescription(blocksPerStage: blocks, widths: widths, shortcut: .b, stemWidth: stem).name
    case .wideResNet(let depth, let k):
      return WideResNetDescription(depth: depth, widenFactor: k).name
    case .vgg(let depth):
      return VGGDescription(depth: depth).name
    case .torchvisionResNet(let block, let blocks, let widths):
      return TorchvisionResNetDescription(block: block, blocksPerStage: blocks, widths: widths).name
    case .architecture(let space, let key):
      return "\(space):\(key)"
    }
  }

  /// The name with its space (if any) replaced, e.g. by the path a daemon resolved it to.
  public func mapSpace(_ transform: (String) throws -> String) rethrows -> ModelName {
    guard case .architecture(let space, let key) = self else { return self }
    return .architecture(space: try transform(space), key: key)
  }

  /// How a space named in a model name is found by default: as `--space` finds it.
  public static func loadSpace(_ nameOrPath: String) throws -> SearchSpace {
    try SearchSpace.load(path: SearchSpaceLocator.resolve(nameOrPath))
  }

  /// The network the name describes, with `classCount` classes (nil: a space's own) and,
  /// for a ResNet, `shortcut` and `classifierName` (except that a ResNet with a stem of its
  /// own is always RepDistiller's: option B, `fc`): checked, not built. `loadSpace` finds
  /// a named space (the daemon passes its data root's rules).
  public func resolve(
    classCount: Int? = nil, shortcut: ShortcutType = .a, classifierName: String = "linear", inputChannels: Int = 3,
    loadSpace: (String) throws -> SearchSpace = ModelName.loadSpace
  ) throws -> ResolvedModel {
    switch self {
    case .resnet(let blocks, let widths, let stem):
      let d = ResNetDescription(
        blocksPerStage: blocks, widths: widths, shortcut: stem == nil ? shortcut : .b, classCount: classCount ?? 10,
        classifierName: stem == nil ? classifierName : "fc", inputChannels: inputChannels, stemWidth: stem)
      try d.validate()
      return ResolvedModel(name: self, network: .resnet(d), space: nil, genotype: nil)
    case .wideResNet(let depth, let k):
      let d = WideResNetDescription(depth: depth, widenFactor: k, classCount: classCount ?? 10, inputChannels: inputChannels)
      try d.validate()
      return ResolvedModel(name: self, network: .wideResNet(d), space: nil, genotype: nil)
    case .vgg(let depth):
      let d = VGGDescription(depth: depth, classCount: classCount ?? 10, inputChannels: inputChannels)
      try d.validate()
      return ResolvedModel(name: self, network: .vgg(d), space: nil, genotype: nil)
    case .torchvisionResNet(let block, let blocks, let widths):
      let d = TorchvisionResNetDescription(
        block: block, blocksPerStage: blocks, widths: widths, classCount: classCount ?? 1000, inputChannels: inputChannels)
      try d.validate()
      return ResolvedModel(name: self, network: .torchvisionResNet(d), space: nil, genotype: nil)
    case .architecture(let spaceName, let key):
      let space = try loadSpace(spaceName)
      let g = try space.genotype(fromKey: key)
      let classes = classCount ?? space.classCount
      _ = try space.footprint(of: g, classCount: classes)  // the space's limits, nothing allocated
      return ResolvedModel(
        name: .architecture(space: spaceName, key: space.key(of: g)),
        network: space.family.describe(g, in: space, classCount: classes), space: space, genotype: g)
    }
  }
}

/// A named network, checked and ready to build: its canonical name and its description.
public struct ResolvedModel {
  /// The name with a space architecture's key in canonical form.
  public let name: ModelName
  public let network: ArchitectureFamily.NetworkDescription
  /// The space and genotype of a space's architecture (nil for a ResNet by name).
  public let space: SearchSpace?
  public let genotype: Genotype?

  /// Builds the network (weights uninitialised) and the metadata its weights file records:
  /// a space's architecture records its space and key, so `ModelZoo.loadAny` rebuilds it.
  public func build() throws -> (model: any Classifier, metadata: [String: String]) {
    if let space, let genotype {
      let model = try space.build(genotype, classCount: network.classCount)
      return (model, space.metadata(of: genotype, model: model))
    }
    let model = try network.build()
    return (model, model.metadata)
  }

  /// The memory footprint of the network on `height`×`width` images, without building it.
  public func footprint(height: Int, width: Int) throws -> MemoryFootprint {
    try network.footprint(height: height, width: width)
  }
}
