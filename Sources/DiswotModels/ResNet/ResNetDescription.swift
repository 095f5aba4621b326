/// How a residual branch is added to its block's input when the shapes differ.
public enum ShortcutType: String, Sendable, Codable, CaseIterable {
  /// Parameter-free: stride-2 subsampling and zero-padded channels (the original CIFAR ResNets).
  case a = "A"
  /// Projection: 1×1 convolution with stride, then batch norm (RepDistiller, mdistiller).
  case b = "B"
}

/// A CIFAR-style ResNet of basic blocks (He et al. 2016, §4.2), described as data.
///
/// The stem is a 3×3 convolution to the first stage's width; every stage after the
/// first starts with stride 2; the classifier follows global average pooling.
public struct ResNetDescription: Sendable, Codable, Equatable {
  /// Basic blocks in each stage.
  public var blocksPerStage: [Int]
  /// Output channels of each stage.
  public var widths: [Int]
  public var shortcut: ShortcutType
  public var classCount: Int
  /// State-dict name of the classifier: `linear` (pytorch_resnet_cifar10) or `fc` (RepDistiller).
  public var classifierName: String
  public var inputChannels: Int

  public init(
    blocksPerStage: [Int], widths: [Int], shortcut: ShortcutType = .a, classCount: Int = 10,
    classifierName: String = "linear", inputChannels: Int = 3
  ) {
    self.blocksPerStage = blocksPerStage
    self.widths = widths
    self.shortcut = shortcut
    self.classCount = classCount
    self.classifierName = classifierName
    self.inputChannels = inputChannels
  }

  /// Limits far above any network the product trains, far below sizes that would
  /// exhaust memory before a clear error could be given.
  public static let maxStages = 8
  public static let maxBlocksPerStage = 64
  public static let maxWidth = 4096
  public static let maxClasses = 100_000

  /// Checks every field, naming the first that is out of range.
  public func validate() throws(ModelError) {
    func fail(_ m: String) -> ModelError { .invalidDescription(m) }
    guard !blocksPerStage.isEmpty, blocksPerStage.count <= Self.maxStages else {
      throw fail("blocksPerStage must list 1 to \(Self.maxStages) stages, got \(blocksPerStage.count)")
    }
    guard widths.count == blocksPerStage.count else {
      throw fail("widths lists \(widths.count) stages but blocksPerStage lists \(blocksPerStage.count)")
    }
    for b in blocksPerStage where !(1...Self.maxBlocksPerStage).contains(b) {
      throw fail("blocks per stage must be between 1 and \(Self.maxBlocksPerStage), got \(b)")
    }
    for w in widths where !(1...Self.maxWidth).contains(w) {
      throw fail("stage width must be between 1 and \(Self.maxWidth), got \(w)")
    }
    try ModelError.require("classCount", classCount, in: 1...Self.maxClasses)
    try ModelError.require("inputChannels", inputChannels, in: 1...64)
    guard classifierName == "linear" || classifierName == "fc" else {
      throw fail("classifier name must be 'linear' or 'fc', got '\(classifierName)'")
    }
    if shortcut == .a {
      for (a, b) in zip(widths, widths.dropFirst()) where b < a || (b - a) % 2 != 0 {
        throw fail("option-A shortcuts need each stage width to grow by an even number, got \(a) -> \(b)")
      }
    }
  }

  /// The original CIFAR ResNet of depth 6n+2 (n blocks per stage, widths 16/32/64).
  public static func cifar(depth: Int, shortcut: ShortcutType = .a, classCount: Int = 10) throws(ModelError) -> ResNetDescription {
    guard depth >= 8, (depth - 2) % 6 == 0 else {
      throw .invalidDescription("CIFAR ResNet depth must be 6n+2 (20, 32, 44, 56, 110, …), got \(depth)")
    }
    let n = (depth - 2) / 6
    return ResNetDescription(
      blocksPerStage: [n, n, n], widths: [16, 32, 64], shortcut: shortcut, classCount: classCount)
  }

  /// Depth counted as the paper does: stem + two convolutions per block + classifier.
  public var depth: Int { 2 + 2 * blocksPerStage.reduce(0, +) }

  /// `resnet56` for the standard family, otherwise an explicit description. Depths 50 and
  /// 152 take the explicit form too: `resnet50` and `resnet152` are torchvision's (`ModelName`).
  public var name: String {
    if widths == [16, 32, 64], blocksPerStage.count == 3, Set(blocksPerStage).count == 1,
      TorchvisionResNetDescription.standard[depth] == nil
    {
      return "resnet\(depth)"
    }
    return "resnet-d\(blocksPerStage.map(String.init).joined(separator: "_"))-w\(widths.map(String.init).joined(separator: "_"))"
  }
}
