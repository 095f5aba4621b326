import DiswotTensor

extension TorchvisionResNetDescription {
  /// The network's memory footprint on `height`×`width` images, without building it
  /// (layer for layer as `TorchvisionResNet`, `BasicBlock` and `Bottleneck` create them).
  public func footprint(height: Int, width: Int) throws(ModelError) -> MemoryFootprint {
    try validate()
    guard height >= Self.minInputSize, width >= Self.minInputSize else {
      throw .invalidDescription("\(name) needs images of at least \(Self.minInputSize)×\(Self.minInputSize), got \(height)×\(width)")
    }
    var f = FootprintCounter()
    do {
      let stem = Self.stemWidth
      var size = try f.conv(inputChannels, stem, kernel: 7, stride: 2, padding: 3, input: (height, width))
      f.batchNorm(stem, at: size)
      let pool = TorchvisionResNet.maxPool
      size = (try pool.outputSize(size.height), try pool.outputSize(size.width))
      f.tensor(stem, at: size)
      for stage in blocks {
        for b in stage {
          let blockInput = size
          let out = b.width * block.expansion
          switch block {
          case .basic:
            size = try f.conv(b.inChannels, b.width, kernel: 3, stride: b.stride, padding: 1, input: size)
            f.batchNorm(b.width, at: size)
            size = try f.conv(b.width, b.width, kernel: 3, padding: 1, input: size)
            f.batchNorm(b.width, at: size)
          case .bottleneck:
            size = try f.conv(b.inChannels, b.width, kernel: 1, input: size)
            f.batchNorm(b.width, at: size)
            size = try f.conv(b.width, b.width, kernel: 3, stride: b.stride, padding: 1, input: size)
            f.batchNorm(b.width, at: size)
            size = try f.conv(b.width, out, kernel: 1, input: size)
            f.batchNorm(out, at: size)
          }
          if b.stride != 1 || b.inChannels != out {
            _ = try f.conv(b.inChannels, out, kernel: 1, stride: b.stride, input: blockInput)
            f.batchNorm(out, at: size)
          }
        }
      }
      f.classifier(featureChannels, classes: classCount)
    } catch {
      throw .tensor(error)
    }
    return f.footprint
  }
}
