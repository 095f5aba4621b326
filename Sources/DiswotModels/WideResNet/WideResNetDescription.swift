/// A wide ResNet as RepDistiller defines it (`models/wrn.py`, after Zagoruyko & Komodakis
/// 2016): depth 6n+4, widths 16, 16k, 32k, 64k for widening factor k, pre-activation
/// blocks, no dropout (RepDistiller's `dropRate` defaults to 0 and its published teachers
/// use it so; a network with dropout is not one diswot builds).
public struct WideResNetDescription: Sendable, Codable, Equatable {
  /// 6n+4: the stem, two convolutions in each of the 3·n blocks, the classifier.
  public var depth: Int
  /// k: stage widths are 16k, 32k and 64k.
  public var widenFactor: Int
  public var classCount: Int
  public var inputChannels: Int

  public init(depth: Int, widenFactor: Int, classCount: Int = 10, inputChannels: Int = 3) {
    self.depth = depth
    self.widenFactor = widenFactor
    self.classCount = classCount
    self.inputChannels = inputChannels
  }

  /// Checks every field, naming the first that is out of range (the same limits as a
  /// CIFAR ResNet's blocks per stage and widths).
  public func validate() throws(ModelError) {
    guard depth >= 10, (depth - 4) % 6 == 0, blocksPerStage <= ResNetDescription.maxBlocksPerStage else {
      throw .invalidDescription(
        "wide ResNet depth must be 6n+4 (10, 16, 22, 28, 40, …) with n ≤ \(ResNetDescription.maxBlocksPerStage), got \(depth)")
    }
    try ModelError.require("widen factor", widenFactor, in: 1...(ResNetDescription.maxWidth / 64))
    try ModelError.require("classCount", classCount, in: 1...ResNetDescription.maxClasses)
    try ModelError.require("inputChannels", inputChannels, in: 1...64)
  }

  /// n, the blocks in each of the three stages.
  public var blocksPerStage: Int { (depth - 4) / 6 }

  /// The stem's width, then each stage's (`nChannels` in RepDistiller).
  public var channels: [Int] { [16, 16 * widenFactor, 32 * widenFactor, 64 * widenFactor] }

  /// `wrn_40_2`, RepDistiller's spelling.
  public var name: String { "wrn_\(depth)_\(widenFactor)" }
}
