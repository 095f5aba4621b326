import DiswotJSON

/// The fixed part of a MobileNetV2 search space: stem, head and each stage's width and
/// stride. The choices pick each stage's depth and each block's expansion and kernel.
public struct MobileNetV2Settings: Sendable, Equatable {
  public var stemWidth: Int
  public var stemStride: Int
  public var lastWidth: Int
  public var widths: [Int]
  public var strides: [Int]
  /// First block slot of each stage in `expansions`/`kernels`, and the slot count after the last.
  var slotOffsets: [Int]

  static func read(
    _ settings: [String: JSONValue], _ choices: [SearchSpace.Choice], _ reader: SearchSpaceReader
  ) throws(SearchSpaceError) -> MobileNetV2Settings {
    try reader.onlyKnown(settings, ["stem_width", "stem_stride", "last_width", "widths", "strides"])
    let maxWidth = MobileNetV2Description.maxWidth
    let stemWidth = try reader.int(settings, "stem_width", in: 1...maxWidth, path: "settings.stem_width")
    let stemStride = try reader.int(settings, "stem_stride", in: 1...2, path: "settings.stem_stride")
    let lastWidth = try reader.int(settings, "last_width", in: 1...maxWidth, path: "settings.last_width")
    let widths = try intList(settings, "widths", in: 1...maxWidth, reader)
    let strides = try intList(settings, "strides", in: 1...2, reader)
    guard widths.count == strides.count, (1...MobileNetV2Description.maxStages).contains(widths.count) else {
      throw reader.fail("settings.strides", "needs one stride per stage (\(widths.count) widths, \(strides.count) strides)")
    }
    let depths = try reader.intChoice(choices, "depths", in: 1...MobileNetV2Description.maxBlocksPerStage)
    guard depths.options.count == widths.count else {
      throw reader.fail("choices.depths", "needs one position per stage (\(widths.count))")
    }
    var offsets = [0]
    for options in depths.options { offsets.append(offsets.last! + options.compactMap(\.intValue).max()!) }
    let expansions = try reader.intChoice(choices, "expansions", in: 1...MobileNetV2Description.maxExpansion)
    let kernels = try reader.intChoice(choices, "kernels", in: 1...MobileNetV2Description.maxKernel)
    for choice in [expansions, kernels] where choice.options.count != offsets.last! {
      throw reader.fail("choices.\(choice.name)", "needs \(offsets.last!) positions (one per block slot: the largest depth of each stage, summed), got \(choice.options.count)")
    }
    for (p, options) in kernels.options.enumerated() where options.contains(where: { $0.intValue! % 2 == 0 }) {
      throw reader.fail("choices.kernels[\(p)]", "kernels must be odd")
    }
    guard choices.count == 3 else { throw reader.fail("choices", "a mobilenetv2 space has exactly 'depths', 'expansions' and 'kernels'") }
    return MobileNetV2Settings(
      stemWidth: stemWidth, stemStride: stemStride, lastWidth: lastWidth, widths: widths, strides: strides, slotOffsets: offsets)
  }

  private static func intList(
    _ settings: [String: JSONValue], _ key: String, in range: ClosedRange<Int>, _ reader: SearchSpaceReader
  ) throws(SearchSpaceError) -> [Int] {
    guard let values = settings[key]?.arrayValue, !values.isEmpty else {
      throw reader.fail("settings.\(key)", "must be a non-empty array of integers")
    }
    var result: [Int] = []
    for value in values {
      guard let v = value.intValue, range.contains(v) else {
        throw reader.fail("settings.\(key)", "values must be integers between \(range.lowerBound) and \(range.upperBound), found \(value.compactText)")
      }
      result.append(v)
    }
    return result
  }

  private func choiceIndices(_ space: SearchSpace) -> (depths: Int, expansions: Int, kernels: Int) {
    (space.choiceIndex("depths")!, space.choiceIndex("expansions")!, space.choiceIndex("kernels")!)
  }

  private func depth(ofStage s: Int, in g: Genotype, of space: SearchSpace) -> Int {
    let d = choiceIndices(space).depths
    return space.choices[d].options[s][g.choices[d][s]].intValue!
  }

  /// Depth positions are always active; a block slot is active when its stage is deep enough.
  func isActive(choice c: Int, position p: Int, in g: Genotype, of space: SearchSpace) -> Bool {
    guard c != choiceIndices(space).depths else { return true }
    let stage = slotOffsets.lastIndex { $0 <= p }!
    return p - slotOffsets[stage] < depth(ofStage: stage, in: g, of: space)
  }

  /// Σ over each stage's depth options of the block combinations that depth activates.
  func size(of space: SearchSpace) -> Double {
    let (d, e, k) = choiceIndices(space)
    var total = 1.0
    for (s, depthOptions) in space.choices[d].options.enumerated() {
      var stageTotal = 0.0
      for option in depthOptions {
        var combinations = 1.0
        for slot in slotOffsets[s]..<(slotOffsets[s] + option.intValue!) {
          combinations *= Double(space.choices[e].options[slot].count * space.choices[k].options[slot].count)
        }
        stageTotal += combinations
      }
      total *= stageTotal
    }
    return total
  }

  func description(of g: Genotype, in space: SearchSpace, classCount: Int) -> MobileNetV2Description {
    let (_, e, k) = choiceIndices(space)
    let stages = widths.indices.map { s in
      MobileNetV2Description.Stage(
        blocks: (slotOffsets[s]..<(slotOffsets[s] + depth(ofStage: s, in: g, of: space))).map { slot in
          MobileNetV2Description.Block(
            expansion: space.choices[e].options[slot][g.choices[e][slot]].intValue!,
            kernel: space.choices[k].options[slot][g.choices[k][slot]].intValue!)
        },
        width: widths[s], stride: strides[s])
    }
    return MobileNetV2Description(
      stages: stages, stemWidth: stemWidth, stemStride: stemStride, lastWidth: lastWidth,
      classCount: classCount, inputChannels: space.inputShape[0])
  }
}
