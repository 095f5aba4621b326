/// A MobileNetV2-style network described as data: stages of inverted residual blocks
/// whose expansion and depthwise kernel vary block by block, as the `mobilenetv2.json`
/// search space needs (expansion ∈ {3, 6}, kernel ∈ {3, 5, 7}, depth per stage).
///
/// Stem: 3×3 convolution (stride `stemStride`) + BN + ReLU6 to `stemWidth`; the stages;
/// head: 1×1 convolution + BN + ReLU6 to `lastWidth`; global average pooling; linear
/// classifier (torchvision's dropout before it is the identity at inference and in
/// scoring, so it is left out).
public struct MobileNetV2Description: Sendable, Codable, Equatable {
  /// One inverted residual block.
  public struct Block: Sendable, Codable, Equatable {
    /// Hidden width = input width × expansion; 1 means no expansion convolution.
    public var expansion: Int
    /// Depthwise kernel extent (odd, padded by kernel/2 so stride 1 keeps the size).
    public var kernel: Int

    public init(expansion: Int, kernel: Int) {
      self.expansion = expansion
      self.kernel = kernel
    }
  }

  /// Blocks of one output width; only the first has the stage's stride.
  public struct Stage: Sendable, Codable, Equatable {
    public var blocks: [Block]
    /// Output channels of every block.
    public var width: Int
    /// Stride of the first block (1 or 2); the others have stride 1.
    public var stride: Int

    public init(blocks: [Block], width: Int, stride: Int) {
      self.blocks = blocks
      self.width = width
      self.stride = stride
    }
  }

  public var stages: [Stage]
  public var stemWidth: Int
  /// 2 for ImageNet-sized inputs; 1 for CIFAR-sized ones, which would otherwise shrink
  /// to 1×1 before the last stage.
  public var stemStride: Int
  public var lastWidth: Int
  public var classCount: Int
  public var inputChannels: Int

  public init(
    stages: [Stage], stemWidth: Int = 32, stemStride: Int = 2, lastWidth: Int = 1280,
    classCount: Int = 10, inputChannels: Int = 3
  ) {
    self.stages = stages
    self.stemWidth = stemWidth
    self.stemStride = stemStride
    self.lastWidth = lastWidth
    self.classCount = classCount
    self.inputChannels = inputChannels
  }

  /// MobileNetV2's ImageNet layout (torchvision's `inverted_residual_setting`, t/c/n/s:
  /// 1/16/1/1, 6/24/2/2, 6/32/3/2, 6/64/4/2, 6/96/3/1, 6/160/3/2, 6/320/1/1), 3×3 kernels.
  public static let standardStages: [Stage] = [
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
  ].map { t, c, n, s in
    Stage(blocks: Array(repeating: Block(expansion: t, kernel: 3), count: n), width: c, stride: s)
  }

  /// MobileNetV2 itself (width multiplier 1); `stemStride: 1` for 32×32 inputs.
  public static func standard(stemStride: Int = 2, classCount: Int = 10) -> MobileNetV2Description {
    MobileNetV2Description(stages: standardStages, stemStride: stemStride, classCount: classCount)
  }

  /// Limits far above any network of the search space, low enough that hidden widths
  /// (width × expansion) stay within the convolution kernels' channel limit;
  /// `maxParameters` (2²⁸ floats, 1 GiB) refuses what fits the limits but not in memory.
  public static let maxStages = 16
  public static let maxBlocksPerStage = 32
  public static let maxWidth = 4096
  public static let maxExpansion = 16
  public static let maxKernel = 15
  public static let maxClasses = 100_000
  public static let maxParameters = 1 << 28

  /// Checks every field, naming the first that is out of range.
  public func validate() throws(ModelError) {
    func fail(_ m: String) -> ModelError { .invalidDescription(m) }
    guard (1...Self.maxStages).contains(stages.count) else {
      throw fail("stages must list 1 to \(Self.maxStages) stages, got \(stages.count)")
    }
    for w in [stemWidth, lastWidth] + stages.map(\.width) where !(1...Self.maxWidth).contains(w) {
      throw fail("widths must be between 1 and \(Self.maxWidth), got \(w)")
    }
    guard stemStride == 1 || stemStride == 2 else { throw fail("stemStride must be 1 or 2, got \(stemStride)") }
    for (s, stage) in stages.enumerated() {
      guard (1...Self.maxBlocksPerStage).contains(stage.blocks.count) else {
        throw fail("stage \(s) must have 1 to \(Self.maxBlocksPerStage) blocks, got \(stage.blocks.count)")
      }
      guard stage.stride == 1 || stage.stride == 2 else {
        throw fail("stage \(s) stride must be 1 or 2, got \(stage.stride)")
      }
      for b in stage.blocks {
        guard (1...Self.maxExpansion).contains(b.expansion) else {
          throw fail("stage \(s) expansion must be between 1 and \(Self.maxExpansion), got \(b.expansion)")
        }
        guard (1...Self.maxKernel).contains(b.kernel), b.kernel % 2 == 1 else {
          throw fail("stage \(s) kernel must be odd and between 1 and \(Self.maxKernel), got \(b.kernel)")
        }
      }
    }
    try ModelError.require("classCount", classCount, in: 1...Self.maxClasses)
    try ModelError.require("inputChannels", inputChannels, in: 1...64)
    guard parameterCount <= Self.maxParameters else {
      throw fail("\(parameterCount) parameters exceed the limit of \(Self.maxParameters)")
    }
  }

  /// Every block with its input width, output width and stride, in forward order.
  public var blocks: [(inChannels: Int, outChannels: Int, stride: Int, block: Block)] {
    var result: [(inChannels: Int, outChannels: Int, stride: Int, block: Block)] = []
    var inChannels = stemWidth
    for stage in stages {
      for (j, block) in stage.blocks.enumerated() {
        result.append((inChannels, stage.width, j == 0 ? stage.stride : 1, block))
        inChannels = stage.width
      }
    }
    return result
  }

  /// Learned parameters, computed without building the network (equal to the built
  /// model's `parameterCount`); meaningful once the widths pass `validate`'s range checks.
  public var parameterCount: Int {
    func convBN(_ cin: Int, _ cout: Int, _ k: Int, groups: Int = 1) -> Int { cout * (cin / groups) * k * k + 2 * cout }
    var total = convBN(inputChannels, stemWidth, 3)
    for (cin, cout, _, b) in blocks {
      let hidden = cin * b.expansion
      if b.expansion != 1 { total += convBN(cin, hidden, 1) }
      total += convBN(hidden, hidden, b.kernel, groups: hidden) + convBN(hidden, cout, 1)
    }
    let last = stages.last?.width ?? stemWidth
    return total + convBN(last, lastWidth, 1) + lastWidth * classCount + classCount
  }

  /// The stages as text, `{width}s{stride}:e{t}k{k},…` joined by `_`
  /// (`16s1:e1k3_24s2:e6k3,e6k3_…`), for metadata and names.
  public var layout: String {
    stages.map { stage in
      "\(stage.width)s\(stage.stride):" + stage.blocks.map { "e\($0.expansion)k\($0.kernel)" }.joined(separator: ",")
    }.joined(separator: "_")
  }

  /// `mobilenetv2` for the standard network, otherwise `mobilenetv2-{layout}`.
  public var name: String {
    stages == Self.standardStages && stemWidth == 32 && stemStride == 2 && lastWidth == 1280
      ? "mobilenetv2" : "mobilenetv2-\(layout)"
  }
}
