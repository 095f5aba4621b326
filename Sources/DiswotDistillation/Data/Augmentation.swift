import DiswotData
import DiswotTensor

/// The standard CIFAR training augmentation: a random crop of the original size from the
/// image zero-padded by `padding` pixels on every side, then a horizontal flip with
/// probability ½ — torchvision's `RandomCrop(32, padding=4)` followed by
/// `RandomHorizontalFlip()`.
///
/// torchvision pads the raw [0, 1] image with 0 *before* `Normalize`, so the border a
/// network sees is (0 − mean)/std per channel. Our datasets are usually normalised once
/// up front, so the fill value is a per-channel parameter: `cifar(normalization:)` sets
/// it to (0 − mean[c])/std[c], which reproduces torchvision's pixels exactly.
///
/// Randomness is explicit: each image gets a `Draw` (crop origin and flip), and an
/// epoch's draws come from a generator seeded by (seed, epoch) (`draws(count:seed:epoch:)`),
/// so any batch of any epoch can be rebuilt exactly, in any order or thread.
public struct Augmentation: Sendable, Equatable, Codable {
  /// Zero-padding on each side before the crop; 0 disables cropping.
  public let padding: Int
  /// Mirror left–right with probability ½.
  public let horizontalFlip: Bool
  /// Value of padded pixels, one per channel; empty means 0 for every channel.
  public let fill: [Float]

  /// Per-image random choices.
  public struct Draw: Sendable, Equatable {
    /// Row of the crop's top-left corner in the padded image, in 0...2·padding
    /// (`padding` means no vertical shift).
    public var top: Int
    /// Column of the crop's top-left corner in the padded image, in 0...2·padding.
    public var left: Int
    /// Mirror the cropped image left–right.
    public var flip: Bool

    public init(top: Int, left: Int, flip: Bool) {
      self.top = top
      self.left = left
      self.flip = flip
    }
  }

  public init(padding: Int = 4, horizontalFlip: Bool = true, fill: [Float] = []) throws(AugmentationError) {
    guard padding >= 0 else { throw .invalidSetting("padding \(padding) must be at least 0") }
    guard fill.allSatisfy(\.isFinite) else { throw .invalidSetting("fill values \(fill) must be finite") }
    self.padding = padding
    self.horizontalFlip = horizontalFlip
    self.fill = fill
  }

  /// No augmentation (evaluation).
  public static let none = try! Augmentation(padding: 0, horizontalFlip: false)

  /// `RandomCrop(32, padding=4)` + `RandomHorizontalFlip()` for images normalised with
  /// `normalization` (nil: raw [0, 1] pixels, padded with 0).
  public static func cifar(normalization: Normalization?) -> Augmentation {
    let fill = normalization.map { n in zip(n.mean, n.std).map { (0 - $0) / $1 } } ?? []
    return try! Augmentation(padding: 4, horizontalFlip: true, fill: fill)
  }

  /// True when every draw leaves images unchanged.
  public var isIdentity: Bool { padding == 0 && !horizontalFlip }

  /// The identity draw (no shift, no flip).
  public var identityDraw: Draw { Draw(top: padding, left: padding, flip: false) }

  /// The fill value of channel `c`.
  @inline(__always) func fillValue(_ c: Int) -> Float { fill.isEmpty ? 0 : fill[c] }

  /// Checks that images of `channels` channels can be augmented with these settings.
  public func validate(channels: Int) throws(AugmentationError) {
    guard fill.isEmpty || fill.count == channels else {
      throw .invalidSetting("\(fill.count) fill values for images with \(channels) channels")
    }
  }

  /// One image's draw: crop row, crop column (each only when padding > 0), then flip
  /// (only when flipping is on), each from `rng` in that order.
  public func draw(using rng: inout SeededGenerator) -> Draw {
    var d = identityDraw
    if padding > 0 {
      d.top = rng.uniformIndex(below: 2 * padding + 1)
      d.left = rng.uniformIndex(below: 2 * padding + 1)
    }
    if horizontalFlip { d.flip = rng.next() >> 63 == 1 }
    return d
  }

  /// The draws of an epoch's `count` images, in the epoch's sample order (position i of
  /// the shuffled order gets draw i), from the augmentation stream of (seed, epoch).
  public func draws(count: Int, seed: UInt64, epoch: Int) -> [Draw] {
    if isIdentity { return Array(repeating: identityDraw, count: count) }
    var rng = EpochRandom.generator(seed: seed, epoch: epoch, stream: .augmentation)
    return (0..<count).map { _ in draw(using: &rng) }
  }

  /// Writes the augmented `source` image into `destination` (distinct, each
  /// `channels·height·width` floats, CHW): the crop window at (top, left) of the padded
  /// image, mirrored when `draw.flip`.
  public func apply(
    _ draw: Draw, source: UnsafePointer<Float>, destination: UnsafeMutablePointer<Float>,
    channels: Int, height: Int, width: Int
  ) {
    let dy = draw.top - padding, dx = draw.left - padding
    // Output columns x whose source column x + dx lies inside the image (before a flip).
    let x0 = min(width, max(0, -dx)), x1 = max(x0, min(width, width - dx))
    for c in 0..<channels {
      let value = fillValue(c)
      let plane = c * height * width
      for y in 0..<height {
        let out = destination + plane + y * width
        let sy = y + dy
        guard sy >= 0 && sy < height else {
          out.update(repeating: value, count: width)
          continue
        }
        let row = source + plane + sy * width
        if !draw.flip {
          out.update(repeating: value, count: x0)
          (out + x0).update(from: row + x0 + dx, count: x1 - x0)
          (out + x1).update(repeating: value, count: width - x1)
        } else {
          // Output column x shows cropped column width−1−x.
          for x in 0..<width {
            let cx = width - 1 - x
            out[x] = cx >= x0 && cx < x1 ? row[cx + dx] : value
          }
        }
      }
    }
  }

  /// Augments every image of an [N, C, H, W] batch in place with `draws[i]` for image i
  /// (one scratch image per call, none per image).
  public func apply(_ draws: [Draw], to images: inout Tensor) throws(AugmentationError) {
    guard images.rank == 4, draws.count == images.n else {
      throw .invalidSetting("\(draws.count) draws for a batch of shape \(images.shape) ([N, C, H, W])")
    }
    try validate(channels: images.c)
    let (c, h, w) = (images.c, images.h, images.w)
    let size = c * h * w
    var scratch = [Float](repeating: 0, count: size)
    scratch.withUnsafeMutableBufferPointer { scratch in
      images.withUnsafeMutableBufferPointer { pixels in
        for (i, draw) in draws.enumerated() {
          let image = pixels.baseAddress! + i * size
          scratch.baseAddress!.update(from: image, count: size)
          apply(draw, source: scratch.baseAddress!, destination: image, channels: c, height: h, width: w)
        }
      }
    }
  }
}

/// Why augmentation settings cannot be used.
public enum AugmentationError: Error, Equatable, CustomStringConvertible {
  case invalidSetting(String)

  public var description: String {
    switch self {
    case .invalidSetting(let m): return "invalid augmentation: \(m)"
    }
  }
}

/// Generators for per-epoch randomness, each a pure function of (seed, epoch, stream), so
/// that an epoch's shuffle and augmentation do not depend on what ran before it and a
/// resumed run recreates them exactly.
enum EpochRandom {
  /// Independent uses of one (seed, epoch).
  enum Stream: UInt64 {
    case shuffle = 1
    case augmentation = 2
  }

  static func generator(seed: UInt64, epoch: Int, stream: Stream) -> SeededGenerator {
    let epochWord = UInt64(bitPattern: Int64(epoch)) &* 0x9E37_79B9_7F4A_7C15
    let streamWord = stream.rawValue &* 0xD1B5_4A32_D192_ED03
    return SeededGenerator(seed: mix((mix(seed) &+ epochWord) ^ streamWord))
  }

  /// SplitMix64's finaliser: a bijection that spreads every input bit over the output.
  private static func mix(_ value: UInt64) -> UInt64 {
    var z = value
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

extension SeededGenerator {
  /// Uniform in 0..<bound without bias (Lemire's multiply-and-reject), written out here
  /// rather than taken from `Int.random(in:using:)` so that the stream, and with it every
  /// shuffle and augmentation, cannot change with the standard library.
  mutating func uniformIndex(below bound: Int) -> Int {
    precondition(bound > 0)
    let n = UInt64(bound)
    var product = next().multipliedFullWidth(by: n)
    if product.low < n {
      let threshold = (0 &- n) % n
      while product.low < threshold { product = next().multipliedFullWidth(by: n) }
    }
    return Int(product.high)
  }
}
