import DiswotTensor
import Foundation

/// Writes the weights of a CIFAR ResNet-8 (option A: one basic block per stage, widths
/// 16/32/64, `linear` classifier) with PyTorch names, as `diswot eval --weights` and
/// `--teacher-weights` read them, without training anything. Weights are seeded uniform
/// draws scaled by fan-in, batch norms the identity; `adjust` may change any tensor's
/// values (a NaN, a classifier large enough to overflow) before the file is written, and
/// `metadata` replaces the file's.
public enum ResNetWeights {
  public static func write(
    to url: URL, seed: UInt64 = 1, metadata: [String: String] = ["arch": "resnet8", "shortcut": "A"],
    adjust: (String, inout [Float]) -> Void = { _, _ in }
  ) throws {
    var state = seed
    func uniform() -> Float {  // SplitMix64 to [-1, 1)
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return Float((z ^ (z >> 31)) >> 40) / Float(1 << 23) - 1
    }
    var tensors: [(name: String, tensor: Tensor)] = []
    func add(_ name: String, _ shape: [Int], _ value: (Int) -> Float) throws {
      let count = shape.reduce(1, *)
      var values = (0..<count).map(value)
      adjust(name, &values)
      tensors.append((name, try Tensor(shape: shape, storage: values)))
    }
    func conv(_ name: String, _ cin: Int, _ cout: Int) throws {
      let scale = (6 / Float(cin * 9)).squareRoot()
      try add(name, [cout, cin, 3, 3]) { _ in uniform() * scale }
    }
    func batchNorm(_ name: String, _ channels: Int) throws {
      try add(name + ".weight", [channels]) { _ in 1 }
      try add(name + ".bias", [channels]) { _ in 0 }
      try add(name + ".running_mean", [channels]) { _ in 0 }
      try add(name + ".running_var", [channels]) { _ in 1 }
    }
    try conv("conv1.weight", 3, 16)
    try batchNorm("bn1", 16)
    for (stage, (cin, cout)) in [(16, 16), (16, 32), (32, 64)].enumerated() {
      let block = "layer\(stage + 1).0"
      try conv(block + ".conv1.weight", cin, cout)
      try batchNorm(block + ".bn1", cout)
      try conv(block + ".conv2.weight", cout, cout)
      try batchNorm(block + ".bn2", cout)
    }
    try add("linear.weight", [10, 64]) { _ in uniform() * 0.125 }
    try add("linear.bias", [10]) { _ in 0 }
    try SafetensorsFile.write(path: url.path, tensors: tensors, metadata: metadata)
  }
}
