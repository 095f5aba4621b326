import DiswotTensor

extension VGGDescription {
  /// The network's memory footprint on `height`×`width` images, without building it
  /// (layer for layer as `VGGNetwork` creates them: ReLUs in place, a new tensor per pool).
  public func footprint(height: Int, width: Int) throws(ModelError) -> MemoryFootprint {
    try validate()
    var f = FootprintCounter()
    let pool = Pool2dGeometry(kernel: Self.pool.kernel, stride: Self.pool.stride)
    var channels = inputChannels
    var size = (height: height, width: width)
    do {
      for (b, widths) in blocks.enumerated() {
        for w in widths {
          size = try f.conv(channels, w, kernel: 3, padding: 1, bias: true, input: size)
          f.batchNorm(w, at: size)
          channels = w
        }
        if Self.pools(after: b, height: height) {
          size = (try pool.outputSize(size.height), try pool.outputSize(size.width))
          f.tensor(channels, at: size)
        }
      }
      f.classifier(channels, classes: classCount)
    } catch {
      throw .tensor(error)
    }
    return f.footprint
  }
}
