import DiswotTensor
import Foundation

/// The torchvision transforms that turn a decoded image of any size into a network input
/// of `size`×`size`, on 8-bit pixels as torchvision runs them on PIL images.
public enum ImageTransforms {
  /// The shorter side evaluation images are resized to before the centre crop: the
  /// ImageNet convention 256 for 224 (a crop of 7/8), kept as that ratio for every size,
  /// rounded: 37 for 32, 73 for 64, 256 for 224.
  public static func resizeSize(forCrop size: Int) -> Int {
    Int((Double(size) * 8 / 7).rounded())
  }

  /// torchvision's `Resize(resize)` + `CenterCrop(size)`: the shorter side scaled to
  /// `resize` (the longer one to ⌊resize·long/short⌋, as torchvision computes it), then
  /// the central `size`×`size` window, its offsets rounded half to even as Python's
  /// `round` does. `resize` must be at least `size`.
  public static func resizeAndCenterCrop(_ image: RGBImage, resize: Int, size: Int) -> RGBImage {
    precondition(resize >= size && size > 0)
    let (w, h) = (image.width, image.height)
    let (newWidth, newHeight) =
      w <= h ? (resize, Int(Double(resize) * Double(h) / Double(w))) : (Int(Double(resize) * Double(w) / Double(h)), resize)
    let resized = ImageResize.resize(image, width: newWidth, height: newHeight)
    let top = Int((Double(newHeight - size) / 2).rounded(.toNearestOrEven))
    let left = Int((Double(newWidth - size) / 2).rounded(.toNearestOrEven))
    return resized.cropped(left: left, top: top, width: size, height: size)
  }

  /// The crop window torchvision's `RandomResizedCrop(scale=(0.08, 1), ratio=(3/4, 4/3))`
  /// picks in a `width`×`height` image, by its algorithm (`get_params`): up to 10 tries of
  /// an area fraction uniform in [0.08, 1] and an aspect ratio log-uniform in [3/4, 4/3],
  /// the first that fits taken at a uniform position; else the largest centred window
  /// whose aspect ratio is inside the range. Sides are rounded half to even (Python's
  /// `round`). The numbers come from `rng`, not PyTorch's generator, so the windows are
  /// distributed as torchvision's but are not the same ones.
  public static func randomResizedCropWindow(
    width: Int, height: Int, using rng: inout SeededGenerator
  ) -> (left: Int, top: Int, width: Int, height: Int) {
    let area = Double(width * height)
    let (minRatio, maxRatio) = (3.0 / 4.0, 4.0 / 3.0)
    let (logLow, logHigh) = (log(minRatio), log(maxRatio))
    for _ in 0..<10 {
      let targetArea = area * (0.08 + (1 - 0.08) * uniform(&rng))
      let aspect = exp(logLow + (logHigh - logLow) * uniform(&rng))
      let w = Int((targetArea * aspect).squareRoot().rounded(.toNearestOrEven))
      let h = Int((targetArea / aspect).squareRoot().rounded(.toNearestOrEven))
      if w > 0 && w <= width && h > 0 && h <= height {
        let top = Int(rng.next() % UInt64(height - h + 1))
        let left = Int(rng.next() % UInt64(width - w + 1))
        return (left, top, w, h)
      }
    }
    let ratio = Double(width) / Double(height)
    var (w, h) = (width, height)
    if ratio < minRatio {
      h = Int((Double(w) / minRatio).rounded(.toNearestOrEven))
    } else if ratio > maxRatio {
      w = Int((Double(h) * maxRatio).rounded(.toNearestOrEven))
    }
    return ((width - w) / 2, (height - h) / 2, w, h)
  }

  /// torchvision's `RandomResizedCrop(size)` + `RandomHorizontalFlip()`: a window from
  /// `randomResizedCropWindow`, resized to `size`×`size` (PIL bilinear), mirrored with
  /// probability ½ — every choice drawn from `rng`.
  public static func randomResizedCropAndFlip(_ image: RGBImage, size: Int, using rng: inout SeededGenerator) -> RGBImage {
    let window = randomResizedCropWindow(width: image.width, height: image.height, using: &rng)
    let crop = image.cropped(left: window.left, top: window.top, width: window.width, height: window.height)
    let resized = ImageResize.resize(crop, width: size, height: size)
    return rng.next() >> 63 == 1 ? resized.flipped() : resized
  }

  /// Uniform in [0, 1) with 53 random bits.
  private static func uniform(_ rng: inout SeededGenerator) -> Double {
    Double(rng.next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
  }
}
