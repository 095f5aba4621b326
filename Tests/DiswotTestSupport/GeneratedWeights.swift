import DiswotTensor

/// Weights defined by a formula rather than stored, for parity fixtures of networks too
/// big to commit (RepDistiller's zoo: 0.7M–4M weights each). The fixture generator
/// (DiswotModelsTests/Fixtures/repdistiller/make_repdistiller.py, `generated`) computes
/// the same formula in numpy, so both sides hold the very same float32 bits: SplitMix64
/// of (FNV-1a of the tensor's name, element index), its top 24 bits made a signed integer
/// and scaled to [-1, 1) exactly, times sqrt(6 / fan_in) rounded to Float (0.1 for a rank-1
/// tensor, a bias).
public enum GeneratedWeights {
  public static func tensor(named name: String, shape: [Int]) -> Tensor {
    var seed: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in name.utf8 { seed = (seed ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
    let fanIn = shape.dropFirst().reduce(1, *)
    let scale = shape.count > 1 ? Float((6.0 / Double(fanIn)).squareRoot()) : Float(0.1)
    let count = shape.reduce(1, *)
    var values = [Float](repeating: 0, count: count)
    for i in 0..<count {
      var z = seed &+ UInt64(i) &* 0x9E37_79B9_7F4A_7C15
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      z ^= z >> 31
      let u = Float(Int64(z >> 40) - (1 << 23)) / Float(1 << 23)
      values[i] = u * scale
    }
    return try! Tensor(shape: shape, storage: values)
  }
}
