import DiswotTensor

extension NASBench201Description {
  /// The network's memory footprint on `height`×`width` images, without building it
  /// (as `NASBench201Network`, its cells and reduction blocks create their layers).
  public func footprint(height: Int, width: Int) throws(ModelError) -> MemoryFootprint {
    try validate()
    var f = FootprintCounter()
    do {
      let w = widths
      var size = try f.conv(inputChannels, w[0], kernel: 3, padding: 1, input: (height, width))
      f.batchNorm(w[0], at: size)
      for (s, c) in w.enumerated() {
        if s > 0 {
          // ReLU → 3×3 conv (stride 2) → BN, twice; 2×2 average pool → 1×1 conv; the sum.
          let input = size
          f.tensor(w[s - 1], at: input)
          size = try f.conv(w[s - 1], c, kernel: 3, stride: 2, padding: 1, input: input)
          f.batchNorm(c, at: size)
          f.tensor(c, at: size)
          size = try f.conv(c, c, kernel: 3, padding: 1, input: size)
          f.batchNorm(c, at: size)
          f.tensor(w[s - 1], at: size)
          _ = try f.conv(w[s - 1], c, kernel: 1, input: size)
        }
        for _ in 0..<cellsPerStage {
          for op in genotype.ops {
            switch op {
            case .none, .skipConnect: break
            case .avgPool3x3: f.tensor(c, at: size)
            case .conv1x1, .conv3x3:
              f.tensor(c, at: size)  // the ReLU's copy of the node
              let k = op == .conv1x1 ? 1 : 3
              _ = try f.conv(c, c, kernel: k, padding: k / 2, input: size)
              f.batchNorm(c, at: size)
            }
          }
          for _ in 1...3 { f.tensor(c, at: size) }  // the three node sums
        }
      }
      f.batchNorm(w[2], at: size)
      f.classifier(w[2], classes: classCount)
    } catch {
      throw .tensor(error)
    }
    return f.footprint
  }
}
