import DiswotJSON
import DiswotTensor

/// Naming and loading the network any weights file holds.
extension ModelZoo {
  /// The architecture a weights file holds, named as `ModelName` prints it, without
  /// building it: a student trained from a search space carries `space` and `genotype`
  /// in its metadata (named `SPACE:KEY`, rebuilt from that space); anything else is read
  /// off its tensor names and shapes: as a torchvision ResNet when its stem is 7×7
  /// (`inferTorchvisionResNet`), as one of RepDistiller's wide ResNets or VGGs
  /// (`inferRepDistiller`), or else as a CIFAR ResNet (`inferResNet`). A `genotype` that
  /// is not JSON is read as a key: NAS-Bench-201 students written before the space's
  /// entries took precedence over the network's own hold their bare cell string there.
  public static func architecture(
    of file: SafetensorsFile, loadSpace: (String) throws -> SearchSpace = ModelName.loadSpace
  ) throws -> ResolvedModel {
    guard let spaceName = file.metadata["space"], let archText = file.metadata["genotype"] else {
      let network: ArchitectureFamily.NetworkDescription
      if isTorchvisionResNet(file.tensors) {
        network = .torchvisionResNet(try inferTorchvisionResNet(from: file.tensors))
      } else {
        network = try inferRepDistiller(from: file.tensors) ?? .resnet(try inferResNet(from: file.tensors))
      }
      return ResolvedModel(name: ModelName(naming: network)!, network: network, space: nil, genotype: nil)
    }
    let space = try loadSpace(spaceName)
    let g = try JSONValue.parse(archText).map { try space.genotype(fromJSON: $0) } ?? space.genotype(fromKey: archText)
    return try ModelName.architecture(space: spaceName, key: space.key(of: g)).resolve(
      classCount: try classCount(in: file), loadSpace: { _ in space })
  }

  /// The architecture a weights file holds (`architecture(of:)`), which a `name` given
  /// with it (`--model`, `--teacher`) must describe: a mismatch is an error naming both,
  /// so a file is never silently taken for another network.
  public static func architecture(
    of file: SafetensorsFile, named name: String?, loadSpace: (String) throws -> SearchSpace = ModelName.loadSpace
  ) throws -> ResolvedModel {
    let resolved = try architecture(of: file, loadSpace: loadSpace)
    if let name { try checkName(name, against: resolved.network, holding: resolved.name, loadSpace: loadSpace) }
    return resolved
  }

  /// Builds the network a weights file holds (`architecture(of:)`) and loads it. A `name`
  /// (`--model`, `--teacher`) must describe the same architecture: a mismatch is an error
  /// naming both, so a file is never silently taken for another network.
  public static func loadAny(
    _ file: SafetensorsFile, name: String? = nil, loadSpace: (String) throws -> SearchSpace = ModelName.loadSpace
  ) throws -> any Classifier {
    let fromMetadata = file.metadata["space"] != nil && file.metadata["genotype"] != nil
    let inferredByNames = try isTorchvisionResNet(file.tensors) || inferRepDistiller(from: file.tensors) != nil
    guard fromMetadata || inferredByNames else { return try load(file, name: name) }
    let resolved = try architecture(of: file, named: name, loadSpace: loadSpace)
    // The metadata may name any architecture of the space, and a torchvision ResNet's
    // block count or a wide ResNet's or VGG's depth is read off names alone: the file must
    // hold as many values as the
    // architecture has before it is allocated.
    let footprint = try resolved.footprint(height: resolved.space?.inputShape[1] ?? 32, width: resolved.space?.inputShape[2] ?? 32)
    let expected = footprint.stateFloats - footprint.batchNorms  // counters are optional
    let given = file.tensors.filter { !$0.key.hasSuffix("num_batches_tracked") }.values.reduce(0) { $0 + $1.count }
    guard given == expected else {
      throw ModelError.stateMismatch("the file holds \(given) values, the architecture \(fromMetadata ? "of its metadata" : "its names describe") (\(resolved.name)) has \(expected)")
    }
    let model = try resolved.build().model
    try model.loadState(file.tensors)
    return model
  }
}
