/// PIL's antialiased bilinear resize (`Image.resize(size, Image.BILINEAR)`, what
/// torchvision's `Resize` runs on PIL images), reproduced operation for operation from
/// Pillow's src/libImaging/Resample.c so that results match it exactly, not just closely:
///
/// - separable: a horizontal pass, then a vertical one, each skipped when that extent
///   does not change, with the intermediate image rounded to 8 bits as PIL's is;
/// - the triangle filter's support is 1 input pixel when enlarging and `in/out` pixels
///   when shrinking (the antialiasing), each output pixel centred at (x + ½)·in/out;
/// - weights computed in double, normalised to sum 1 over the taps inside the image,
///   then rounded to fixed point with 22 fractional bits; sums start at ½ and are
///   shifted back and clipped to 0…255.
public enum ImageResize {
  private static let precisionBits = 22

  /// `image` resized to `width`×`height`.
  public static func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
    if width == image.width && height == image.height { return image }
    let pixels = image.pixels.withUnsafeBufferPointer {
      resample($0.baseAddress!, width: image.width, height: image.height, channels: 3, toWidth: width, toHeight: height)
    }
    return RGBImage(width: width, height: height, pixels: pixels)
  }

  /// Interleaved 8-bit pixels of `channels` channels, `width`×`height`, resampled to
  /// `toWidth`×`toHeight` (channels are independent, as PIL's bands are).
  public static func resample(
    _ source: UnsafePointer<UInt8>, width: Int, height: Int, channels: Int, toWidth: Int, toHeight: Int
  ) -> [UInt8] {
    precondition(width > 0 && height > 0 && toWidth > 0 && toHeight > 0 && channels > 0)
    var current = Array(UnsafeBufferPointer(start: source, count: width * height * channels))
    var currentWidth = width
    if toWidth != width {
      let (bounds, weights, taps) = coefficients(inSize: width, outSize: toWidth)
      var out = [UInt8](repeating: 0, count: toWidth * height * channels)
      for y in 0..<height {
        let row = y * width * channels, outRow = y * toWidth * channels
        for x in 0..<toWidth {
          let (first, count) = (bounds[2 * x], bounds[2 * x + 1])
          for c in 0..<channels {
            var sum = 1 << (precisionBits - 1)
            for k in 0..<count { sum += Int(current[row + (first + k) * channels + c]) * weights[x * taps + k] }
            out[outRow + x * channels + c] = clip8(sum)
          }
        }
      }
      current = out
      currentWidth = toWidth
    }
    if toHeight != height {
      let (bounds, weights, taps) = coefficients(inSize: height, outSize: toHeight)
      let stride = currentWidth * channels
      var out = [UInt8](repeating: 0, count: toHeight * stride)
      for y in 0..<toHeight {
        let (first, count) = (bounds[2 * y], bounds[2 * y + 1])
        for i in 0..<stride {
          var sum = 1 << (precisionBits - 1)
          for k in 0..<count { sum += Int(current[(first + k) * stride + i]) * weights[y * taps + k] }
          out[y * stride + i] = clip8(sum)
        }
      }
      current = out
    }
    return current
  }

  @inline(__always) private static func clip8(_ sum: Int) -> UInt8 {
    UInt8(clamping: sum >> precisionBits)
  }

  /// Pillow's `precompute_coeffs` for the bilinear filter over the whole input (box
  /// 0…inSize) followed by `normalize_coeffs_8bpc`: for each output index, the first
  /// input index and the number of taps (`bounds`), and `taps` fixed-point weights.
  static func coefficients(inSize: Int, outSize: Int) -> (bounds: [Int], weights: [Int], taps: Int) {
    let scale = Double(Float(inSize) - Float(0)) / Double(outSize)
    let filterScale = max(scale, 1)
    let support = 1.0 * filterScale
    let taps = Int(support.rounded(.up)) * 2 + 1
    let inverseFilterScale = 1.0 / filterScale
    var bounds = [Int](repeating: 0, count: outSize * 2)
    var weights = [Int](repeating: 0, count: outSize * taps)
    var k = [Double](repeating: 0, count: taps)
    for xx in 0..<outSize {
      let center = 0 + (Double(xx) + 0.5) * scale
      let xmin = max(Int(center - support + 0.5), 0)  // C's (int) truncates, as Int(_:) does
      let xmax = min(Int(center + support + 0.5), inSize) - xmin
      var total = 0.0
      for x in 0..<taps { k[x] = 0 }
      for x in 0..<xmax {
        var t = (Double(x + xmin) - center + 0.5) * inverseFilterScale
        if t < 0 { t = -t }
        let w = t < 1 ? 1 - t : 0
        k[x] = w
        total += w
      }
      if total != 0 { for x in 0..<xmax { k[x] /= total } }
      for x in 0..<taps {
        let scaled = k[x] * Double(1 << precisionBits)
        weights[xx * taps + x] = k[x] < 0 ? Int(-0.5 + scaled) : Int(0.5 + scaled)
      }
      bounds[2 * xx] = xmin
      bounds[2 * xx + 1] = xmax
    }
    return (bounds, weights, taps)
  }
}
