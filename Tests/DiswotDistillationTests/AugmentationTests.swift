import DiswotData
import DiswotDistillation
import DiswotTensor
import DiswotTestSupport
import XCTest

final class AugmentationTests: XCTestCase {
  /// One 2×3×4 image: channel 0 holds 1…12, channel 1 holds 101…112, row-major.
  private let image: [Float] = (1...12).map(Float.init) + (101...112).map(Float.init)

  private func augment(_ augmentation: Augmentation, _ draw: Augmentation.Draw) -> [Float] {
    var output = [Float](repeating: .nan, count: image.count)
    image.withUnsafeBufferPointer { source in
      output.withUnsafeMutableBufferPointer { destination in
        augmentation.apply(draw, source: source.baseAddress!, destination: destination.baseAddress!, channels: 2, height: 3, width: 4)
      }
    }
    return output
  }

  func testCropWithKnownOffset() throws {
    let augmentation = try Augmentation(padding: 2, horizontalFlip: true, fill: [-1, -2])
    // top = padding + 1: output row y shows source row y + 1; left = padding − 1: output
    // column x shows source column x − 1. Channel 0:
    //    1  2  3  4          -1  5  6  7
    //    5  6  7  8    →     -1  9 10 11
    //    9 10 11 12          -1 -1 -1 -1
    XCTAssertEqual(
      augment(augmentation, .init(top: 3, left: 1, flip: false)),
      [-1, 5, 6, 7, -1, 9, 10, 11, -1, -1, -1, -1,
       -2, 105, 106, 107, -2, 109, 110, 111, -2, -2, -2, -2])
    // The same crop, mirrored left–right.
    XCTAssertEqual(
      augment(augmentation, .init(top: 3, left: 1, flip: true)),
      [7, 6, 5, -1, 11, 10, 9, -1, -1, -1, -1, -1,
       107, 106, 105, -2, 111, 110, 109, -2, -2, -2, -2, -2])
    // top = 0, left = 4: up two rows, left two columns (source column x + 2).
    XCTAssertEqual(
      augment(augmentation, .init(top: 0, left: 4, flip: false)),
      [-1, -1, -1, -1, -1, -1, -1, -1, 3, 4, -1, -1,
       -2, -2, -2, -2, -2, -2, -2, -2, 103, 104, -2, -2])
  }

  func testIdentityAndFlip() throws {
    let augmentation = try Augmentation(padding: 4)
    XCTAssertEqual(augment(augmentation, augmentation.identityDraw), image)
    var mirrored = augmentation.identityDraw
    mirrored.flip = true
    XCTAssertEqual(
      augment(augmentation, mirrored),
      [4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9, 104, 103, 102, 101, 108, 107, 106, 105, 112, 111, 110, 109])
    // Default fill is 0; a crop entirely outside the image is all fill.
    XCTAssertEqual(augment(augmentation, .init(top: 0, left: 0, flip: false)), [Float](repeating: 0, count: 24))
  }

  /// Padding, cropping and flipping written out the slow way.
  private func reference(
    _ image: [Float], _ draw: Augmentation.Draw, padding: Int, fill: [Float], c: Int, h: Int, w: Int
  ) -> [Float] {
    var output = [Float](repeating: 0, count: c * h * w)
    for ch in 0..<c {
      let ph = h + 2 * padding, pw = w + 2 * padding
      var padded = [Float](repeating: fill[ch], count: ph * pw)
      for y in 0..<h { for x in 0..<w { padded[(y + padding) * pw + x + padding] = image[(ch * h + y) * w + x] } }
      for y in 0..<h {
        for x in 0..<w {
          let cx = draw.flip ? w - 1 - x : x
          output[(ch * h + y) * w + x] = padded[(y + draw.top) * pw + cx + draw.left]
        }
      }
    }
    return output
  }

  func testMatchesReferenceForEveryDraw() throws {
    let (c, h, w) = (2, 5, 6)
    var rng = SeededGenerator(seed: 3)
    let source = (0..<c * h * w).map { _ in rng.nextUniform() }
    let augmentation = try Augmentation(padding: 3, fill: [0.25, -0.5])
    for top in 0...6 {
      for left in 0...6 {
        for flip in [false, true] {
          let draw = Augmentation.Draw(top: top, left: left, flip: flip)
          var output = [Float](repeating: .nan, count: source.count)
          source.withUnsafeBufferPointer { s in
            output.withUnsafeMutableBufferPointer { d in
              augmentation.apply(draw, source: s.baseAddress!, destination: d.baseAddress!, channels: c, height: h, width: w)
            }
          }
          XCTAssertEqual(output, reference(source, draw, padding: 3, fill: [0.25, -0.5], c: c, h: h, w: w), "\(draw)")
        }
      }
    }
  }

  func testPaddingMatchesTorchvisionOrder() throws {
    // torchvision pads the raw [0, 1] image with 0, then normalises; we normalise first
    // and pad with (0 − mean)/std. The pixels agree exactly.
    var rng = SeededGenerator(seed: 5)
    var raw = Tensor.uniform([3, 3, 8, 8], low: 0, high: 1, using: &rng)
    let draws: [Augmentation.Draw] = [.init(top: 0, left: 8, flip: false), .init(top: 6, left: 1, flip: true), .init(top: 4, left: 4, flip: true)]
    let normalization = Normalization.cifar10
    let augmentation = Augmentation.cifar(normalization: normalization)
    XCTAssertEqual(augmentation.padding, 4)
    XCTAssertTrue(augmentation.horizontalFlip)
    XCTAssertEqual(augmentation.fill, zip(normalization.mean, normalization.std).map { (0 - $0) / $1 })

    var normalizedFirst = raw
    try normalization.apply(to: &normalizedFirst)
    try augmentation.apply(draws, to: &normalizedFirst)

    try Augmentation.cifar(normalization: nil).apply(draws, to: &raw)
    try normalization.apply(to: &raw)
    XCTAssertEqual(normalizedFirst, raw)
  }

  func testInPlaceBatchEqualsPerImage() throws {
    var rng = SeededGenerator(seed: 9)
    let batch = Tensor.normal([4, 2, 3, 4], using: &rng)
    let augmentation = try Augmentation(padding: 2, fill: [1, 2])
    let draws = augmentation.draws(count: 4, seed: 1, epoch: 0)
    var inPlace = batch
    try augmentation.apply(draws, to: &inPlace)
    var separate = batch
    batch.withUnsafeBufferPointer { s in
      separate.withUnsafeMutableBufferPointer { d in
        for i in 0..<4 {
          augmentation.apply(draws[i], source: s.baseAddress! + i * 24, destination: d.baseAddress! + i * 24, channels: 2, height: 3, width: 4)
        }
      }
    }
    XCTAssertEqual(inPlace, separate)
    XCTAssertThrowsError(try augmentation.apply(Array(draws.prefix(3)), to: &inPlace))
    var threeChannels = Tensor(zeros: [4, 3, 3, 4])
    XCTAssertThrowsError(try augmentation.apply(draws, to: &threeChannels))
  }

  func testDrawsAreDeterministicPerSeedAndEpoch() throws {
    let augmentation = try Augmentation(padding: 4)
    let a = augmentation.draws(count: 5000, seed: 42, epoch: 3)
    XCTAssertEqual(a, augmentation.draws(count: 5000, seed: 42, epoch: 3))
    XCTAssertNotEqual(a, augmentation.draws(count: 5000, seed: 42, epoch: 4))
    XCTAssertNotEqual(a, augmentation.draws(count: 5000, seed: 43, epoch: 3))
    // A prefix of an epoch's draws does not depend on how many were asked for.
    XCTAssertEqual(Array(a.prefix(100)), augmentation.draws(count: 100, seed: 42, epoch: 3))
    // Offsets cover 0...8 uniformly-ish; flips about half.
    XCTAssertEqual(Set(a.map(\.top)), Set(0...8))
    XCTAssertEqual(Set(a.map(\.left)), Set(0...8))
    let flips = a.filter(\.flip).count
    XCTAssertTrue((2300...2700).contains(flips), "\(flips) flips of 5000")
    // Nothing random when nothing is enabled.
    XCTAssertEqual(Augmentation.none.draws(count: 3, seed: 1, epoch: 0), Array(repeating: Augmentation.none.identityDraw, count: 3))
    XCTAssertThrowsError(try Augmentation(padding: -1))
  }
}
