import DiswotTensor

extension MobileNetV2Description {
  /// The network's memory footprint on `height`×`width` images, without building it
  /// (as `MobileNetV2Network` and `InvertedResidual` create their layers).
  public func footprint(height: Int, width: Int) throws(ModelError) -> MemoryFootprint {
    try validate()
    var f = FootprintCounter()
    do {
      var size = try f.conv(inputChannels, stemWidth, kernel: 3, stride: stemStride, padding: 1, input: (height, width))
      f.batchNorm(stemWidth, at: size)
      for (cin, cout, stride, block) in blocks {
        let hidden = cin * block.expansion
        if block.expansion != 1 {
          size = try f.conv(cin, hidden, kernel: 1, input: size)
          f.batchNorm(hidden, at: size)
        }
        size = try f.conv(hidden, hidden, kernel: block.kernel, stride: stride, padding: block.kernel / 2, groups: hidden, input: size)
        f.batchNorm(hidden, at: size)
        size = try f.conv(hidden, cout, kernel: 1, input: size)
        f.batchNorm(cout, at: size)
      }
      let last = stages.last?.width ?? stemWidth
      size = try f.conv(last, lastWidth, kernel: 1, input: size)
      f.batchNorm(lastWidth, at: size)
      f.classifier(lastWidth, classes: classCount)
    } catch {
      throw .tensor(error)
    }
    return f.footprint
  }
}
