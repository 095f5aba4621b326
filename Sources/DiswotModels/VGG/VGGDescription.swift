/// A VGG with batch norm as RepDistiller defines it for CIFAR (`models/vgg.py`,
/// `vgg{8,11,13,16,19}_bn`): five blocks of 3×3 convolutions (with bias) each followed by
/// batch norm and ReLU, 2×2 max pools after the first three blocks (and after the fourth
/// on 64×64 inputs, RepDistiller's `if h == 64`), global average pooling and one linear
/// classifier over 512 features. The fully connected layers of ImageNet VGGs are removed.
public struct VGGDescription: Sendable, Codable, Equatable {
  /// 8, 11, 13, 16 or 19: RepDistiller's configurations S, A, B, D and E.
  public var depth: Int
  public var classCount: Int
  public var inputChannels: Int

  public init(depth: Int, classCount: Int = 10, inputChannels: Int = 3) {
    self.depth = depth
    self.classCount = classCount
    self.inputChannels = inputChannels
  }

  /// Convolution widths per block, by depth (RepDistiller's `cfg` without the 'M's, which
  /// its blocks never use).
  public static let configurations: [Int: [[Int]]] = [
    8: [[64], [128], [256], [512], [512]],
    11: [[64], [128], [256, 256], [512, 512], [512, 512]],
    13: [[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]],
    16: [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]],
    19: [[64, 64], [128, 128], [256, 256, 256, 256], [512, 512, 512, 512], [512, 512, 512, 512]],
  ]

  public func validate() throws(ModelError) {
    guard Self.configurations[depth] != nil else {
      throw .invalidDescription("VGG depth must be 8, 11, 13, 16 or 19 (RepDistiller's configurations), got \(depth)")
    }
    try ModelError.require("classCount", classCount, in: 1...ResNetDescription.maxClasses)
    try ModelError.require("inputChannels", inputChannels, in: 1...64)
  }

  /// Each block's convolution widths (valid descriptions only).
  public var blocks: [[Int]] { Self.configurations[depth]! }

  /// Whether max pooling follows block `b` on inputs `height` rows high: always after
  /// blocks 0–2, after block 3 only on 64-row inputs, never after block 4 (RepDistiller's
  /// `pool0`…`pool3`; its `pool4` is the global average).
  public static func pools(after b: Int, height: Int) -> Bool { b < 3 || (b == 3 && height == 64) }

  /// The 2×2, stride-2 window of every pool.
  static let pool = (kernel: 2, stride: 2)

  /// `vgg8`: RepDistiller's `model_dict` key.
  public var name: String { "vgg\(depth)" }
}
