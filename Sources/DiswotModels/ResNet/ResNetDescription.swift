/// How a residual branch is added to its block's input when the shapes differ.
public enum ShortcutType: String, Sendable, Codable, CaseIterable {
  /// Parameter-free: stride-2 subsampling and zero-padded channels (the original CIFAR ResNets).
  case a = "A"
  /// Projection: 1×1 convolution with stride, then batch norm (RepDistiller, mdistiller).
  case b = "B"
}

/// A CIFAR-style ResNet of basic blocks (He et al. 2016, §4.2), described as data.
///
/// The stem is a 3×3 convolution to the first stage's width (or to `stemWidth`, as in
/// RepDistiller's ×4 ResNets); every stage after the first starts with stride 2; the
/// classifier follows global average pooling.
public struct ResNetDescription: Sendable, Codable, Equatable {
  /// Basic blocks in each stage.
  public var blocksPerStage: [Int]
  /// Output channels of each stage.
  public var widths: [Int]
  /// Output channels of the stem when they differ from the first stage's (RepDistiller's
  /// `resnet8x4` has a 32-channel stem before 64-channel blocks, so its first block
  /// projects); nil when they are equal, so equal networks have equal descriptions.
  public var stemWidth: Int?
  public var shortcut: ShortcutType
  public var classCount: Int
  /// State-dict name of the classifier: `linear` (pytorch_resnet_cifar10) or `fc` (RepDistiller).
  public var classifierName: String
  public var inputChannels: Int

  public init(
    blocksPerStage: [Int], widths: [Int], shortcut: ShortcutType = .a, classCount: Int = 10,
    classifierName: String = "linear", inputChannels: Int = 3, stemWidth: Int? = nil
  ) {
    self.blocksPerStage = blocksPerStage
    self.widths = widths
    self.stemWidth = stemWidth == widths.first ? nil : stemWidth
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
    if let stemWidth {
      try ModelError.require("stem width", stemWidth, in: 1...Self.maxWidth)
      guard shortcut == .b else {
        throw fail("a stem width (\(stemWidth)) other than the first stage's (\(widths[0])) needs option-B shortcuts, as RepDistiller's ×4 ResNets have")
      }
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

  /// Output channels of the stem convolution.
  public var stem: Int { stemWidth ?? widths[0] }

  /// RepDistiller's ×4 layout (`resnet8x4`, `resnet32x4`): a 32-channel stem, then three
  /// equal stages of 64, 128 and 256 channels.
  static let x4Widths = [64, 128, 256]
  static let x4Stem = 32

  /// `resnet56` for the standard family, `resnet8x4` for RepDistiller's ×4 layout,
  /// otherwise an explicit description (`resnet-s{stem}-d…-w…` for a stem of its own).
  /// Depths 50 and 152 take the explicit form too: `resnet50` and `resnet152` are
  /// torchvision's (`ModelName`).
  public var name: String {
    let uniform = blocksPerStage.count == 3 && Set(blocksPerStage).count == 1
    if stemWidth == nil, widths == [16, 32, 64], uniform, TorchvisionResNetDescription.standard[depth] == nil {
      return "resnet\(depth)"
    }
    if stemWidth == Self.x4Stem, widths == Self.x4Widths, uniform { return "resnet\(depth)x4" }
    let stemPart = stemWidth.map { "-s\($0)" } ?? ""
    return "resnet\(stemPart)-d\(blocksPerStage.map(String.init).joined(separator: "_"))-w\(widths.map(String.init).joined(separator: "_"))"
  }
}
