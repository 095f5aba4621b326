/// A NAS-Bench-201 network (`TinyNetwork` in AutoDL-Projects), described as data: the
/// cell genotype and the macro skeleton around it.
///
/// Skeleton: stem 3×3 convolution + batch norm (no ReLU); N cells at C channels; a
/// reduction block to 2C; N cells; a reduction block to 4C; N cells; batch norm + ReLU;
/// global average pooling; linear classifier. The benchmark trains C = 16, N = 5.
public struct NASBench201Description: Sendable, Codable, Equatable {
  public var genotype: NASBench201Genotype
  /// Width C of the first stage (the others have 2C and 4C).
  public var channels: Int
  /// Cells N in each of the three stages.
  public var cellsPerStage: Int
  public var classCount: Int
  public var inputChannels: Int

  public init(
    genotype: NASBench201Genotype, channels: Int = 16, cellsPerStage: Int = 5, classCount: Int = 10,
    inputChannels: Int = 3
  ) {
    self.genotype = genotype
    self.channels = channels
    self.cellsPerStage = cellsPerStage
    self.classCount = classCount
    self.inputChannels = inputChannels
  }

  /// Limits far above the benchmark's C = 16, N = 5, low enough that sizes cannot
  /// overflow; `maxParameters` (2²⁸ floats, 1 GiB) refuses what fits the limits but not
  /// in memory before anything is allocated.
  public static let maxChannels = 1024
  public static let maxCellsPerStage = 32
  public static let maxClasses = 100_000
  public static let maxParameters = 1 << 28

  /// Checks every field, naming the first that is out of range.
  public func validate() throws(ModelError) {
    func fail(_ m: String) -> ModelError { .invalidDescription(m) }
    try ModelError.require("channels", channels, in: 1...Self.maxChannels)
    try ModelError.require("cellsPerStage", cellsPerStage, in: 1...Self.maxCellsPerStage)
    try ModelError.require("classCount", classCount, in: 1...Self.maxClasses)
    try ModelError.require("inputChannels", inputChannels, in: 1...64)
    guard parameterCount <= Self.maxParameters else {
      throw fail("\(parameterCount) parameters exceed the limit of \(Self.maxParameters)")
    }
  }

  /// Widths of the three stages: C, 2C, 4C.
  public var widths: [Int] { [channels, 2 * channels, 4 * channels] }

  /// Learned parameters, computed without building the network (equal to the built
  /// model's `parameterCount`; meaningful once the sizes pass `validate`'s range checks):
  /// convolutions have no bias, every batch norm is affine.
  public var parameterCount: Int {
    let c = channels
    func convBN(_ cin: Int, _ cout: Int, _ k: Int) -> Int { cin * cout * k * k + 2 * cout }
    func cell(_ w: Int) -> Int {
      genotype.ops.reduce(0) { total, op in
        switch op {
        case .conv1x1: return total + convBN(w, w, 1)
        case .conv3x3: return total + convBN(w, w, 3)
        default: return total
        }
      }
    }
    func reduction(_ cin: Int, _ cout: Int) -> Int { convBN(cin, cout, 3) + convBN(cout, cout, 3) + cin * cout }
    let stem = convBN(inputChannels, c, 3)
    let cells = cellsPerStage * (cell(c) + cell(2 * c) + cell(4 * c))
    let head = 2 * 4 * c + 4 * c * classCount + classCount
    return stem + cells + reduction(c, 2 * c) + reduction(2 * c, 4 * c) + head
  }

  /// `nb201-c16-n5-{index}`: the width, depth and enumeration index of the genotype.
  public var name: String { "nb201-c\(channels)-n\(cellsPerStage)-\(genotype.index)" }
}
