import DiswotTensor

/// Reading RepDistiller's wide ResNets and VGGs off their state dicts (its ×4 ResNets are
/// CIFAR ResNets with a stem of their own, read by `inferResNet`).
extension ModelZoo {
  /// The wide ResNet or VGG a state dict holds, read off its names and shapes; nil when
  /// its names are neither's (`block1.layer.*` for a wide ResNet, `block0.0.*` for a
  /// VGG), so the file is read as a CIFAR ResNet. A `module.` prefix is ignored. Only
  /// the layout is read here: `loadState` then checks every name and shape.
  public static func inferRepDistiller(
    from tensors: [String: Tensor]
  ) throws(ModelError) -> ArchitectureFamily.NetworkDescription? {
    let byName = unprefixed(tensors)
    let names = Array(byName.keys)
    func matrix(_ name: String, rank: Int) throws(ModelError) -> Tensor {
      guard let t = byName[name], t.rank == rank else { throw .stateMismatch("no '\(name)' of rank \(rank)") }
      return t
    }
    if names.contains(where: { $0.hasPrefix("block1.layer.") }) {
      // block{s}.layer.{j}.…: the same n blocks in each of the three stages.
      var blocks: [Int: Set<Int>] = [:]
      for name in names where name.hasPrefix("block") {
        let parts = name.split(separator: ".")
        guard parts.count > 3, parts[1] == "layer", let s = Int(parts[0].dropFirst(5)), let j = Int(parts[2]) else { continue }
        blocks[s, default: []].insert(j)
      }
      let n = blocks[1]?.count ?? 0
      guard blocks.keys.sorted() == [1, 2, 3], blocks.values.allSatisfy({ $0 == Set(0..<n) }) else {
        throw .stateMismatch("a wide ResNet has stages block1…block3 of equally many blocks, found \(blocks.mapValues(\.count).sorted { $0.key < $1.key })")
      }
      let stem = try matrix("conv1.weight", rank: 4), fc = try matrix("fc.weight", rank: 2)
      guard fc.shape[1] % 64 == 0 else {
        throw .stateMismatch("a wide ResNet's classifier takes 64·k features, 'fc.weight' takes \(fc.shape[1])")
      }
      let d = WideResNetDescription(
        depth: 6 * n + 4, widenFactor: fc.shape[1] / 64, classCount: fc.shape[0], inputChannels: stem.shape[1])
      try d.validate()
      return .wideResNet(d)
    }
    if byName["block0.0.weight"] != nil {
      // block{b}.{3k}.weight: the k-th convolution of block b (its batch norm is 3k+1).
      let convolutions = (0..<5).map { b in
        (0...).prefix(while: { k in byName["block\(b).\(3 * k).weight"]?.rank == 4 }).count
      }
      guard let depth = VGGDescription.configurations.first(where: { $0.value.map(\.count) == convolutions })?.key else {
        throw .stateMismatch("VGG blocks of \(convolutions) convolutions are none of RepDistiller's vgg8, vgg11, vgg13, vgg16, vgg19")
      }
      let stem = try matrix("block0.0.weight", rank: 4), head = try matrix("classifier.weight", rank: 2)
      let d = VGGDescription(depth: depth, classCount: head.shape[0], inputChannels: stem.shape[1])
      try d.validate()
      return .vgg(d)
    }
    return nil
  }
}
