#if canImport(Glibc)
import Glibc
#endif

/// A small, fast, seedable random generator (xoshiro256**, Blackman & Vigna 2018).
///
/// Reproducibility is a product feature (the same seed gives the same search, the same
/// initialisation, the same augmentation), so the engine never uses the system
/// generator. The state is four words and `Codable`, so checkpoints can store it and a
/// resumed run continues the exact same stream.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Codable, Equatable {
  public private(set) var state: [UInt64]

  /// Seeds the four state words from `seed` through SplitMix64, as the authors advise.
  public init(seed: UInt64) {
    var s = seed
    func splitMix() -> UInt64 {
      s &+= 0x9E37_79B9_7F4A_7C15
      var z = s
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    state = [splitMix(), splitMix(), splitMix(), splitMix()]
  }

  public mutating func next() -> UInt64 {
    let result = rotl(state[1] &* 5, 7) &* 9
    let t = state[1] << 17
    state[2] ^= state[0]
    state[3] ^= state[1]
    state[1] ^= state[2]
    state[0] ^= state[3]
    state[2] ^= t
    state[3] = rotl(state[3], 45)
    return result
  }

  /// Uniform in [0, 1) with 24 random bits (every representable step of a Float mantissa).
  public mutating func nextUniform() -> Float {
    Float(next() >> 40) * (1.0 / 16_777_216.0)
  }

  /// Standard normal sample (Box–Muller; the second value is discarded so the stream
  /// position depends only on how many samples were drawn).
  public mutating func nextNormal() -> Float { nextNormalPair().0 }

  /// Two independent standard normal samples from one Box–Muller draw.
  @inline(__always)
  mutating func nextNormalPair() -> (Float, Float) {
    let u1 = Double(next() >> 11) * 0x1.0p-53
    let u2 = Double(next() >> 11) * 0x1.0p-53
    let r = (-2 * log(1 - u1)).squareRoot()
    let angle = 2 * Double.pi * u2
    return (Float(r * cos(angle)), Float(r * sin(angle)))
  }

  private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

extension Tensor {
  /// A tensor of independent N(mean, std²) samples.
  public static func normal(
    _ shape: [Int], mean: Float = 0, std: Float = 1, using rng: inout SeededGenerator
  ) -> Tensor {
    var t = Tensor(zeros: shape)
    // Both values of each Box–Muller draw are used: initialising a network is dominated
    // by these transcendental calls, and this halves them.
    t.withUnsafeMutableBufferPointer { p in
      var i = 0
      while i + 1 < p.count {
        let (a, b) = rng.nextNormalPair()
        p[i] = mean + std * a
        p[i + 1] = mean + std * b
        i += 2
      }
      if i < p.count { p[i] = mean + std * rng.nextNormal() }
    }
    return t
  }

  /// A tensor of independent U(low, high) samples.
  public static func uniform(
    _ shape: [Int], low: Float, high: Float, using rng: inout SeededGenerator
  ) -> Tensor {
    var t = Tensor(zeros: shape)
    for i in 0..<t.count { t.storage[i] = low + (high - low) * rng.nextUniform() }
    return t
  }
}
