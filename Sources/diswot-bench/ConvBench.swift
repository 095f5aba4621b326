import DiswotTensor

/// Convolution throughput of the ResNet-56 (CIFAR) layer sequence against the machine's
/// sgemm rate: the acceptance measure for the convolution kernels.
///
/// Throughput counts direct-convolution FLOPs (2 · MACs) whatever algorithm runs, so a
/// Winograd layer can beat the sgemm rate it is built on.
enum ConvBench {
  /// One convolution of the network and the input extent it sees.
  struct Layer {
    let stage: String
    let geometry: Conv2dGeometry
    let size: Int
  }

  /// The 55 convolutions of ResNet-56 (3 stages of 9 basic blocks, 16/32/64 channels at
  /// 32/16/8 pixels; the shortcuts are parameter-free), grouped by the table's rows.
  static var resnet56: [Layer] {
    func conv(_ stage: String, _ c: Int, _ o: Int, _ size: Int, stride: Int = 1) -> Layer {
      Layer(
        stage: stage,
        geometry: Conv2dGeometry(
          inChannels: c, outChannels: o, kernel: 3, stride: stride, padding: 1),
        size: size)
    }
    var layers = [conv("stem", 3, 16, 32)]
    layers += Array(repeating: conv("stage1", 16, 16, 32), count: 18)
    layers.append(conv("stage2 down", 16, 32, 32, stride: 2))
    layers += Array(repeating: conv("stage2", 32, 32, 16), count: 17)
    layers.append(conv("stage3 down", 32, 64, 16, stride: 2))
    layers += Array(repeating: conv("stage3", 64, 64, 8), count: 17)
    return layers
  }

  /// Measures and prints the table; returns conv GFLOP/s ÷ sgemm GFLOP/s.
  @discardableResult
  static func run(sgemm: Double, batch: Int = 64, repeats: Int = 3) throws -> Double {

    let layers = resnet56
    var rng = SeededGenerator(seed: 2)
    // One input per distinct shape and one weight per layer; values ~ He initialisation.
    var inputs: [[Int]: Tensor] = [:]
    var weights: [Tensor] = []
    for layer in layers {
      let g = layer.geometry
      let shape = [batch, g.inChannels, layer.size, layer.size]
      if inputs[shape] == nil {
        inputs[shape] = Tensor.uniform(shape, low: -1, high: 1, using: &rng)
      }
      let scale = (2 / Float(g.inChannels * 9)).squareRoot()
      weights.append(Tensor.uniform(g.weightShape, low: -scale, high: scale, using: &rng))
    }

    // Seconds per stage of the fastest of `repeats` passes (after one warm-up pass).
    var stageOrder: [String] = []
    for layer in layers where !stageOrder.contains(layer.stage) { stageOrder.append(layer.stage) }
    var best: [String: Double] = [:]
    var bestTotal = Double.infinity
    var checksum: Float = 0
    for run in 0...repeats {
      var times: [String: Double] = [:]
      for (layer, weight) in zip(layers, weights) {
        let g = layer.geometry
        let input = inputs[[batch, g.inChannels, layer.size, layer.size]]!
        var output: Tensor?
        times[layer.stage, default: 0] += try Timing.seconds { () throws(TensorError) in
          output = try conv2d_forward(input, weight: weight, bias: nil, geometry: g)
        }
        checksum += output!.storage[0]
      }
      let total = times.values.reduce(0, +)
      if run > 0 && total < bestTotal { (best, bestTotal) = (times, total) }
    }

    print(
      "ResNet-56 convolutions, batch \(batch), \(Parallel.threads) engine threads, best of \(repeats)"
    )
    print(
      pad("stage", 12) + pad("convs", 6) + pad("kernel", 10) + pad("GFLOP", 8) + pad("ms", 9)
        + "GFLOP/s")
    var totalFLOP = 0.0
    var totalTime = 0.0
    for stage in stageOrder {
      let members = layers.filter { $0.stage == stage }
      let flop = members.reduce(0.0) {
        $0 + 2 * Double(batch * $1.geometry.macs(height: $1.size, width: $1.size))
      }
      let time = best[stage]!
      totalFLOP += flop
      totalTime += time
      let kernel = Conv2dAlgorithm(members[0].geometry).rawValue
      print(
        pad(stage, 12) + pad("\(members.count)", 6) + pad(kernel, 10)
          + pad(format(flop / 1e9, 3), 8)
          + pad(format(time * 1e3, 2), 9) + format(flop / time / 1e9, 1))
    }
    let rate = totalFLOP / totalTime / 1e9
    print(
      pad("total", 12) + pad("\(layers.count)", 6) + pad("", 10)
        + pad(format(totalFLOP / 1e9, 3), 8)
        + pad(format(totalTime * 1e3, 2), 9) + format(rate, 1))
    let ratio = rate / sgemm
    print("conv / sgemm: \(format(ratio, 3)) (target >= 0.5)   [checksum \(checksum)]")
    return ratio
  }

  static func format(_ value: Double, _ decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    return "\(rounded)"
  }

  static func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
  }
}

