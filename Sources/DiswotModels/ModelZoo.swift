import DiswotTensor

/// Named models and building a model from a weights file.
public enum ModelZoo {
  /// The standard CIFAR ResNets, `ModelName`'s aliases; any `resnet{6n+2}` also works.
  public static let namedModels = ["resnet20", "resnet32", "resnet44", "resnet56", "resnet110"]

  /// The description of a ResNet named as `ModelName` parses it (`resnet56`,
  /// `resnet-d1_1_1-w32_64_128`); a space's architecture is not a ResNet description.
  public static func description(
    named name: String, shortcut: ShortcutType = .a, classCount: Int = 10, classifierName: String = "linear"
  ) throws(ModelError) -> ResNetDescription {
    guard case .resnet(let blocks, let widths, let stem) = try ModelName(parsing: name) else {
      throw .unknownModel("'\(name)' is not a CIFAR ResNet")
    }
    let d = ResNetDescription(
      blocksPerStage: blocks, widths: widths, shortcut: stem == nil ? shortcut : .b, classCount: classCount,
      classifierName: stem == nil ? classifierName : "fc", stemWidth: stem)
    try d.validate()
    return d
  }

  /// Reads the architecture off a CIFAR ResNet state dict: stages and blocks from the
  /// `layer{s}.{j}` names, widths, the stem's width and classes from tensor shapes, the
  /// shortcut type from the presence of `downsample` tensors, the classifier from
  /// `linear.*` or `fc.*`.
  public static func inferResNet(from tensors: [String: Tensor]) throws(ModelError) -> ResNetDescription {
    let byName = unprefixed(tensors)
    guard let stem = byName["conv1.weight"], stem.rank == 4 else {
      throw .stateMismatch(
        "no 'conv1.weight' of rank 4: not a CIFAR ResNet state dict (nor a wide ResNet's, with block1.layer.*, nor a VGG's, with block0.0.*)")
    }
    let classifierName = byName["linear.weight"] != nil ? "linear" : "fc"
    guard let head = byName[classifierName + ".weight"], head.rank == 2 else {
      throw .stateMismatch("no classifier: expected 'linear.weight' or 'fc.weight'")
    }
    let (blocksPerStage, widths) = try stages(byName)
    let description = ResNetDescription(
      blocksPerStage: blocksPerStage, widths: widths,
      shortcut: byName.keys.contains { $0.contains(".downsample.") } ? .b : .a,
      classCount: head.shape[0], classifierName: classifierName, inputChannels: stem.shape[1], stemWidth: stem.shape[0])
    try description.validate()
    return description
  }

  /// Whether a state dict is a torchvision-layout ResNet's rather than a CIFAR ResNet's:
  /// the stem convolution is 7×7 (CIFAR ResNets have a 3×3 one).
  static func isTorchvisionResNet(_ tensors: [String: Tensor]) -> Bool {
    guard let stem = tensors["conv1.weight"] ?? tensors["module.conv1.weight"], stem.rank == 4 else { return false }
    return stem.shape[2] == 7 && stem.shape[3] == 7
  }

  /// Reads the architecture off a torchvision ResNet state dict: stages and blocks from
  /// the `layer{s}.{j}` names, the block from the presence of `conv3`, widths from each
  /// stage's first `conv1`, classes from `fc.weight`. Shapes are checked when loading.
  public static func inferTorchvisionResNet(from tensors: [String: Tensor]) throws(ModelError) -> TorchvisionResNetDescription {
    let byName = unprefixed(tensors)
    guard let stem = byName["conv1.weight"], stem.rank == 4, stem.shape[0] == TorchvisionResNetDescription.stemWidth else {
      throw .stateMismatch("no 'conv1.weight' of shape [64, C, 7, 7]: not a torchvision ResNet state dict")
    }
    guard let head = byName["fc.weight"], head.rank == 2 else {
      throw .stateMismatch("no classifier 'fc.weight' of rank 2: not a torchvision ResNet state dict")
    }
    let (blocksPerStage, widths) = try stages(byName)
    let description = TorchvisionResNetDescription(
      block: byName["layer1.0.conv3.weight"] != nil ? .bottleneck : .basic,
      blocksPerStage: blocksPerStage, widths: widths,
      classCount: head.shape[0], inputChannels: stem.shape[1])
    try description.validate()
    return description
  }

  /// A state dict with DataParallel's `module.` prefix taken off its names.
  static func unprefixed(_ tensors: [String: Tensor]) -> [String: Tensor] {
    Dictionary(uniqueKeysWithValues: tensors.map { ($0.key.hasPrefix("module.") ? String($0.key.dropFirst(7)) : $0.key, $0.value) })
  }

  /// The stages of a ResNet state dict, CIFAR or torchvision layout alike: blocks per stage
  /// from the `layer{s}.{j}.*` names (stages numbered from 1 without gaps), and each stage's
  /// width from its first block's `conv1` output channels.
  private static func stages(_ byName: [String: Tensor]) throws(ModelError) -> (blocksPerStage: [Int], widths: [Int]) {
    var blocks: [Int: Set<Int>] = [:]
    for name in byName.keys where name.hasPrefix("layer") {
      let parts = name.split(separator: ".")
      guard parts.count > 2, let s = Int(parts[0].dropFirst(5)), let j = Int(parts[1]) else { continue }
      blocks[s, default: []].insert(j)
    }
    let stageCount = blocks.count
    guard stageCount > 0, (1...stageCount).allSatisfy({ blocks[$0] != nil }) else {
      throw .stateMismatch("stages must be numbered layer1…layerN, found \(blocks.keys.sorted())")
    }
    var widths: [Int] = []
    for s in 1...stageCount {
      guard let w = byName["layer\(s).0.conv1.weight"], w.rank == 4 else {
        throw .stateMismatch("missing 'layer\(s).0.conv1.weight'")
      }
      widths.append(w.shape[0])
    }
    return ((1...stageCount).map { blocks[$0]!.count }, widths)
  }

  /// Classes of a weights file's classifier (`linear.weight` or `fc.weight` rows).
  public static func classCount(in file: SafetensorsFile) throws(ModelError) -> Int {
    let byName = unprefixed(file.tensors)
    guard let head = ["linear.weight", "fc.weight", "classifier.weight", "classifier.1.weight"].lazy.compactMap({ byName[$0] }).first,
      head.rank == 2
    else {
      throw .stateMismatch("no classifier weight (linear.weight, fc.weight or classifier.weight) in the file")
    }
    return head.shape[0]
  }

  /// Builds a CIFAR ResNet and loads a weights file into it (`loadAny` for any file).
  ///
  /// The architecture is read off the tensors; a `name` (for example from `--model`)
  /// must agree with it, so a ResNet-20 file cannot silently be evaluated as ResNet-56.
  public static func load(_ file: SafetensorsFile, name: String? = nil) throws -> ResNetCIFAR {
    let inferred = try inferResNet(from: file.tensors)
    if let declared = file.metadata["shortcut"], declared.uppercased() != inferred.shortcut.rawValue {
      throw ModelError.stateMismatch("metadata says shortcut \(declared) but the tensors are those of option \(inferred.shortcut.rawValue)")
    }
    if let name { try checkName(name, against: .resnet(inferred), holding: ModelName(naming: .resnet(inferred))!) }
    let model = try ResNetCIFAR(inferred)
    try model.loadState(file.tensors)
    return model
  }

  /// Refuses a `name` that does not describe the architecture a weights file holds,
  /// naming both.
  static func checkName(
    _ name: String, against network: ArchitectureFamily.NetworkDescription, holding fileName: ModelName,
    loadSpace: (String) throws -> SearchSpace = ModelName.loadSpace
  ) throws {
    let named = try ModelName(parsing: name).resolve(
      classCount: network.classCount, inputChannels: network.inputChannels, loadSpace: loadSpace)
    guard named.network.hasSameArchitecture(as: network) else {
      throw ModelError.stateMismatch("the weights file holds \(fileName), not \(named.name)")
    }
  }
}
