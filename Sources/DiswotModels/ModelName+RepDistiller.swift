/// RepDistiller's CIFAR zoo (HobbitLong/RepDistiller, `models/__init__.py`'s `model_dict`),
/// the standard knowledge-distillation benchmark, named as that project names its models
/// so that its teachers and students are given here as they are there.
extension ModelName {
  /// `resnet{6n+2}x4` (`resnet8x4`, `resnet32x4`), `wrn_{6n+4}_{k}` (`wrn_40_2`) or
  /// `vgg{8,11,13,16,19}`, checked; nil for a name of another form.
  static func repDistiller(_ lower: String, unknown: (String?) -> ModelError) throws(ModelError) -> ModelName? {
    if lower.hasPrefix("resnet"), lower.hasSuffix("x4"), let depth = Int(lower.dropFirst("resnet".count).dropLast(2)) {
      let d: ResNetDescription
      do { d = try ResNetDescription.cifar(depth: depth) } catch { throw unknown("\(error)") }
      return .resnet(blocksPerStage: d.blocksPerStage, widths: ResNetDescription.x4Widths, stemWidth: ResNetDescription.x4Stem)
    }
    if lower.hasPrefix("wrn_") {
      let parts = lower.dropFirst("wrn_".count).split(separator: "_", omittingEmptySubsequences: false).map { Int($0) }
      guard parts.count == 2, let depth = parts[0], let k = parts[1] else { throw unknown("a wide ResNet is wrn_{depth}_{k}") }
      do { try WideResNetDescription(depth: depth, widenFactor: k).validate() } catch { throw unknown("\(error)") }
      return .wideResNet(depth: depth, widenFactor: k)
    }
    if lower.hasPrefix("vgg") {
      guard let depth = Int(lower.dropFirst("vgg".count)) else { throw unknown("a VGG is vgg8, vgg11, vgg13, vgg16 or vgg19") }
      do { try VGGDescription(depth: depth).validate() } catch { throw unknown("\(error)") }
      return .vgg(depth: depth)
    }
    return nil
  }

  /// The name of a network RepDistiller's zoo or the CIFAR ResNets hold (what a weights
  /// file is read as); nil for a search space's architecture, which is named by its key.
  init?(naming network: ArchitectureFamily.NetworkDescription) {
    switch network {
    case .resnet(let d): self = .resnet(blocksPerStage: d.blocksPerStage, widths: d.widths, stemWidth: d.stemWidth)
    case .wideResNet(let d): self = .wideResNet(depth: d.depth, widenFactor: d.widenFactor)
    case .vgg(let d): self = .vgg(depth: d.depth)
    case .torchvisionResNet(let d): self = .torchvisionResNet(block: d.block, blocksPerStage: d.blocksPerStage, widths: d.widths)
    case .nasBench201, .mobileNetV2: return nil
    }
  }
}
