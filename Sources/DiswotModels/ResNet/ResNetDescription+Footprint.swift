import DiswotTensor

extension ResNetDescription {
  /// The network's memory footprint on `height`×`width` images, without building it
  /// (layer for layer as `ResNetCIFAR` and `BasicBlock` create them).
  public func footprint(height: Int, width: Int) throws(ModelError) -> MemoryFootprint {
    try validate()
    var f = FootprintCounter()
    do {
      var size = try f.conv(inputChannels, stem, kernel: 3, padding: 1, input: (height, width))
      f.batchNorm(stem, at: size)
      var channels = stem
      for (s, (blocks, out)) in zip(blocksPerStage, widths).enumerated() {
        for j in 0..<blocks {
          let stride = (s > 0 && j == 0) ? 2 : 1
          let blockInput = size
          size = try f.conv(channels, out, kernel: 3, stride: stride, padding: 1, input: size)
          f.batchNorm(out, at: size)
          size = try f.conv(out, out, kernel: 3, padding: 1, input: size)
          f.batchNorm(out, at: size)
          if stride != 1 || channels != out {
            if shortcut == .a {
              f.tensor(out, at: size)
            } else {
              _ = try f.conv(channels, out, kernel: 1, stride: stride, input: blockInput)
              f.batchNorm(out, at: size)
            }
          }
          channels = out
        }
      }
      f.classifier(channels, classes: classCount)
    } catch {
      throw .tensor(error)
    }
    return f.footprint
  }
}
