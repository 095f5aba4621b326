/// An 8-bit RGB image, row-major with the three channels interleaved (what decoders
/// produce and PIL's "RGB" mode holds), before it becomes a [3, H, W] float tensor.
public struct RGBImage: Sendable, Equatable {
  public let width: Int
  public let height: Int
  /// width · height · 3 bytes: R, G, B of pixel (0, 0), then of (1, 0), …
  public var pixels: [UInt8]

  public init(width: Int, height: Int, pixels: [UInt8]) {
    precondition(width > 0 && height > 0 && pixels.count == width * height * 3, "\(pixels.count) bytes for \(width)×\(height) RGB")
    self.width = width
    self.height = height
    self.pixels = pixels
  }

  /// The window of `width`×`height` pixels whose top-left corner is (left, top); the
  /// window must lie inside the image (PIL's `crop` with a box inside it).
  public func cropped(left: Int, top: Int, width w: Int, height h: Int) -> RGBImage {
    precondition(left >= 0 && top >= 0 && w > 0 && h > 0 && left + w <= width && top + h <= height, "crop outside the image")
    if left == 0 && top == 0 && w == width && h == height { return self }
    var out = [UInt8](repeating: 0, count: w * h * 3)
    for y in 0..<h {
      let from = ((top + y) * width + left) * 3
      out.replaceSubrange(y * w * 3..<(y + 1) * w * 3, with: pixels[from..<from + w * 3])
    }
    return RGBImage(width: w, height: h, pixels: out)
  }

  /// Mirrored left–right.
  public func flipped() -> RGBImage {
    var out = pixels
    for y in 0..<height {
      for x in 0..<width {
        let (to, from) = ((y * width + x) * 3, (y * width + width - 1 - x) * 3)
        out[to] = pixels[from]
        out[to + 1] = pixels[from + 1]
        out[to + 2] = pixels[from + 2]
      }
    }
    return RGBImage(width: width, height: height, pixels: out)
  }

  /// Writes the image as [3, H, W] floats in [0, 1] (`ToTensor`: byte / 255 exactly).
  func write(into destination: UnsafeMutablePointer<Float>) {
    let plane = width * height
    var planar = [UInt8](repeating: 0, count: plane * 3)
    for i in 0..<plane {
      planar[i] = pixels[3 * i]
      planar[plane + i] = pixels[3 * i + 1]
      planar[2 * plane + i] = pixels[3 * i + 2]
    }
    planar.withUnsafeBufferPointer { PixelScaling.scale($0.baseAddress!, into: destination, count: plane * 3) }
  }
}
