import DiswotTensor

extension WideResNetDescription {
  /// The network's memory footprint on `height`×`width` images, without building it
  /// (layer for layer as `WideResNet` and `WideBasicBlock` create them; ReLUs act in
  /// place on batch-norm outputs, shortcuts add in place).
  public func footprint(height: Int, width: Int) throws(ModelError) -> MemoryFootprint {
    try validate()
    var f = FootprintCounter()
    let c = channels
    do {
      var size = try f.conv(inputChannels, c[0], kernel: 3, padding: 1, input: (height, width))
      for s in 0..<3 {
        for j in 0..<blocksPerStage {
          let (cin, cout, stride) = (j == 0 ? c[s] : c[s + 1], c[s + 1], j == 0 && s > 0 ? 2 : 1)
          let blockInput = size
          f.batchNorm(cin, at: size)
          size = try f.conv(cin, cout, kernel: 3, stride: stride, padding: 1, input: size)
          f.batchNorm(cout, at: size)
          size = try f.conv(cout, cout, kernel: 3, padding: 1, input: size)
          if cin != cout { _ = try f.conv(cin, cout, kernel: 1, stride: stride, input: blockInput) }
        }
      }
      f.batchNorm(c[3], at: size)
      f.classifier(c[3], classes: classCount)
    } catch {
      throw .tensor(error)
    }
    return f.footprint
  }
}
