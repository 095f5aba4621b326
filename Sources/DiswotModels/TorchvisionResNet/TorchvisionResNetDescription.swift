/// The residual block a torchvision ResNet stacks.
public enum ResNetBlockKind: String, Sendable, Codable, CaseIterable {
  /// Two 3×3 convolutions (ResNet-18/34); output width = the stage's width.
  case basic
  /// 1×1 reduce, 3×3 (carrying the stride: "ResNet v1.5"), 1×1 expand (ResNet-50/101/152);
  /// output width = 4 × the stage's width.
  case bottleneck

  /// How many times wider a block's output is than its stage's width (`block.expansion`).
  public var expansion: Int { self == .basic ? 1 : 4 }
}

/// An ImageNet ResNet as torchvision defines it (`torchvision.models.resnet`), described
/// as data: a 7×7 stride-2 stem convolution to 64 channels with batch norm and ReLU, a
/// 3×3 stride-2 max pool (padding 1), stages `layer1…` of basic or bottleneck blocks (every
/// stage after the first starting with stride 2, a `downsample` projection wherever the
/// stride or the width changes), adaptive average pooling and a classifier `fc`.
///
/// torchvision fixes four stages of widths 64/128/256/512; stages and widths are free here
/// so that a search space can vary them around ResNet-18 (`SearchSpaces/resnet-imagenet.json`).
public struct TorchvisionResNetDescription: Sendable, Codable, Equatable {
  public var block: ResNetBlockKind
  /// Blocks in each stage.
  public var blocksPerStage: [Int]
  /// Each stage's width (`planes`; a bottleneck stage outputs 4× as many channels).
  public var widths: [Int]
  public var classCount: Int
  public var inputChannels: Int

  public init(block: ResNetBlockKind, blocksPerStage: [Int], widths: [Int] = Self.standardWidths, classCount: Int = 1000, inputChannels: Int = 3) {
    self.block = block
    self.blocksPerStage = blocksPerStage
    self.widths = widths
    self.classCount = classCount
    self.inputChannels = inputChannels
  }

  /// The stem's width (torchvision's `inplanes = 64`).
  public static let stemWidth = 64
  /// torchvision's stage widths.
  public static let standardWidths = [64, 128, 256, 512]
  /// The smallest input side: five halvings (stem, max pool, three strided stages) leave
  /// a 1×1 feature map, as torchvision's own models do on 32×32 images.
  public static let minInputSize = 32

  /// torchvision's five models, by depth.
  public static let standard: [Int: (block: ResNetBlockKind, blocks: [Int])] = [
    18: (.basic, [2, 2, 2, 2]), 34: (.basic, [3, 4, 6, 3]), 50: (.bottleneck, [3, 4, 6, 3]),
    101: (.bottleneck, [3, 4, 23, 3]), 152: (.bottleneck, [3, 8, 36, 3]),
  ]

  /// torchvision's `resnet{depth}` (18, 34, 50, 101 or 152), nil for any other depth.
  public static func standard(depth: Int, classCount: Int = 1000) -> TorchvisionResNetDescription? {
    standard[depth].map { TorchvisionResNetDescription(block: $0.block, blocksPerStage: $0.blocks, classCount: classCount) }
  }

  /// Channels of the last feature map.
  public var featureChannels: Int { (widths.last ?? Self.stemWidth) * block.expansion }

  /// Depth counted as the paper does: stem + the block's convolutions + classifier.
  public var depth: Int { 2 + (block == .basic ? 2 : 3) * blocksPerStage.reduce(0, +) }

  /// `resnet50` for torchvision's five, otherwise `resnet-{basic|bottleneck}-d…-w…`.
  public var name: String {
    if widths == Self.standardWidths, let s = Self.standard[depth], s.block == block, s.blocks == blocksPerStage {
      return "resnet\(depth)"
    }
    return "resnet-\(block.rawValue)-d\(blocksPerStage.map(String.init).joined(separator: "_"))-w\(widths.map(String.init).joined(separator: "_"))"
  }

  /// Checks every field, naming the first that is out of range (the CIFAR ResNet's limits).
  public func validate() throws(ModelError) {
    func fail(_ m: String) -> ModelError { .invalidDescription(m) }
    guard !blocksPerStage.isEmpty, blocksPerStage.count <= ResNetDescription.maxStages else {
      throw fail("blocksPerStage must list 1 to \(ResNetDescription.maxStages) stages, got \(blocksPerStage.count)")
    }
    guard widths.count == blocksPerStage.count else {
      throw fail("widths lists \(widths.count) stages but blocksPerStage lists \(blocksPerStage.count)")
    }
    for b in blocksPerStage { try ModelError.require("blocks per stage", b, in: 1...ResNetDescription.maxBlocksPerStage) }
    for w in widths { try ModelError.require("stage width", w, in: 1...ResNetDescription.maxWidth) }
    try ModelError.require("classCount", classCount, in: 1...ResNetDescription.maxClasses)
    try ModelError.require("inputChannels", inputChannels, in: 1...64)
  }

  /// Each block's (input channels, stage width, stride), stage by stage, as torchvision's
  /// `_make_layer` creates them.
  var blocks: [[(inChannels: Int, width: Int, stride: Int)]] {
    var inChannels = Self.stemWidth
    return zip(blocksPerStage, widths).enumerated().map { s, stage in
      (0..<stage.0).map { j in
        defer { inChannels = stage.1 * block.expansion }
        return (inChannels, stage.1, s > 0 && j == 0 ? 2 : 1)
      }
    }
  }
}
