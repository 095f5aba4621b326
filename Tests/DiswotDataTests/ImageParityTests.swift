import DiswotData
import DiswotTensor
import Foundation
import XCTest

/// Decoding, resizing and centre-cropping against PIL + torchvision on the fixture images
/// (Fixtures/make_image_fixtures.py writes them and what PIL makes of them).
final class ImageParityTests: XCTestCase {
  private var fixtures: URL { Bundle.module.resourceURL!.appendingPathComponent("Fixtures") }

  private func sizes() throws -> [String: [Int]] {
    try JSONDecoder().decode([String: [Int]].self, from: Data(contentsOf: fixtures.appendingPathComponent("images.json")))
  }

  private func expected(_ name: String) throws -> [UInt8] {
    Array(try Data(contentsOf: fixtures.appendingPathComponent("expected/" + name)))
  }

  /// Largest byte difference; PIL parity asks for at most 1 (1/255 once scaled).
  private func maxDifference(_ a: [UInt8], _ b: [UInt8]) -> Int {
    zip(a, b).map { abs(Int($0) - Int($1)) }.max() ?? 0
  }

  func testDecodingMatchesPILConvertRGB() throws {
    let sizes = try sizes()
    XCTAssertEqual(sizes.count, 11)
    for (name, size) in sizes {
      let image = try ImageDecoder.decode(path: fixtures.appendingPathComponent("images/" + name).path)
      XCTAssertEqual([image.width, image.height], size, name)
      let want = try expected(name + ".rgb")
      XCTAssertEqual(image.pixels.count, want.count, name)
      XCTAssertLessThanOrEqual(maxDifference(image.pixels, want), 1, name)
    }
  }

  func testResizeAndCenterCropMatchTorchvision() throws {
    for name in try sizes().keys {
      let image = try ImageDecoder.decode(path: fixtures.appendingPathComponent("images/" + name).path)
      for size in [16, 64] {
        let out = ImageTransforms.resizeAndCenterCrop(image, resize: ImageTransforms.resizeSize(forCrop: size), size: size)
        XCTAssertEqual([out.width, out.height], [size, size])
        let want = try expected("\(name).\(size).rgb")
        XCTAssertLessThanOrEqual(maxDifference(out.pixels, want), 1, "\(name) at \(size)")
      }
    }
  }

  /// Resizing alone is exact, not merely close: the same fixed-point arithmetic as PIL's.
  func testResizeIsBitExactOnLosslessInputs() throws {
    for name in try sizes().keys where name.hasSuffix(".png") {
      let image = try ImageDecoder.decode(path: fixtures.appendingPathComponent("images/" + name).path)
      let out = ImageTransforms.resizeAndCenterCrop(image, resize: 18, size: 16)
      XCTAssertEqual(out.pixels, try expected("\(name).16.rgb"), name)
    }
  }

  func testTheResizeRuleKeepsSevenEighths() {
    XCTAssertEqual(ImageTransforms.resizeSize(forCrop: 224), 256)
    XCTAssertEqual(ImageTransforms.resizeSize(forCrop: 32), 37)
    XCTAssertEqual(ImageTransforms.resizeSize(forCrop: 64), 73)
  }

  func testBadImagesAreNamedWithTheReason() {
    let cases = [
      ("bad_truncated.jpg", "corrupt JPEG"), ("bad_corrupt.png", "corrupt PNG"),
      ("bad_not_image.jpg", "not a JPEG or PNG file"), ("bad_gray16.png", "16-bit grayscale"),
    ]
    for (name, reason) in cases {
      let path = fixtures.appendingPathComponent("images/" + name).path
      XCTAssertThrowsError(try ImageDecoder.decode(path: path), name) { error in
        let text = "\(error)"
        XCTAssertTrue(text.contains(path) && text.contains(reason), text)
      }
    }
  }

  func testRandomResizedCropWindowsFollowTorchvisionsBounds() {
    var rng = SeededGenerator(seed: 7)
    for (w, h) in [(500, 375), (40, 300), (300, 40), (3, 3)] {
      for _ in 0..<200 {
        let window = ImageTransforms.randomResizedCropWindow(width: w, height: h, using: &rng)
        XCTAssertTrue(window.width > 0 && window.height > 0 && window.left >= 0 && window.top >= 0)
        XCTAssertTrue(window.left + window.width <= w && window.top + window.height <= h)
      }
    }
    // A strip too thin for any ratio in [3/4, 4/3] falls back to its centred 4:3 window.
    var fallback = SeededGenerator(seed: 1)
    let strip = ImageTransforms.randomResizedCropWindow(width: 1000, height: 10, using: &fallback)
    XCTAssertEqual(strip.height, 10)
    XCTAssertEqual(strip.width, 13)
    XCTAssertEqual(strip.left, (1000 - 13) / 2)
  }
}
