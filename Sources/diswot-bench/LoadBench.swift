import DiswotData
import DiswotDistillation
import DiswotTensor
import Foundation

/// Image-folder loading: how many images per second `--data folder:DIR` decodes and
/// prepares (JPEG/PNG decode, PIL-exact resize, crop, normalise) — the rate training and
/// evaluation from a folder cannot exceed.
enum LoadBench {
  struct Result: Encodable {
    /// `evaluation` (Resize + CenterCrop) or `training` (RandomResizedCrop + flip).
    var transform: String
    var size: Int
    var batch: Int
    var images: Int
    var seconds: Double
    var imagesPerSecond: Double
    /// One image at a time on one core: the rate without the decode pool.
    var serialImagesPerSecond: Double
    /// `imagesPerSecond` ÷ `serialImagesPerSecond`: how much of the machine's cores the
    /// batch loader keeps busy.
    var speedup: Double

    enum CodingKeys: String, CodingKey {
      case transform, size, batch, images, seconds, speedup
      case imagesPerSecond = "images_per_second", serialImagesPerSecond = "serial_images_per_second"
    }
  }

  /// Every image of the train split of `directory` (at most `limit`), through the
  /// trainer's batch loader with both transforms, and the first `serialCount` one by one.
  static func run(directory: String, size: Int, batch: Int, limit: Int?, serialCount: Int) throws -> [Result] {
    let split = try DataSplit(.folder(directory: directory), .train)
    let count = min(split.count, limit ?? .max)
    var results: [Result] = []
    for randomCrops in [false, true] {
      let images = try StreamedImages(
        split: split, count: count, size: size, randomCrops: randomCrops, normalization: .imagenet, skipBadImages: false)
      var loaded = 0
      let seconds = try Timing.seconds {
        let loader = try BatchLoader(source: .streamed(images), batchSize: batch, epoch: 0, seed: 0, shuffle: randomCrops)
        while let b = try loader.nextBatch() { loaded += b.labels.count }
      }
      let folder = split.imageFolder!
      let serial = min(serialCount, count)
      let serialSeconds = try Timing.seconds {
        for i in 0..<serial {
          let image = try ImageDecoder.decode(path: folder.paths[i])
          if randomCrops {
            var rng = SeededGenerator(seed: UInt64(i))
            _ = ImageTransforms.randomResizedCropAndFlip(image, size: size, using: &rng)
          } else {
            _ = ImageTransforms.resizeAndCenterCrop(image, resize: ImageTransforms.resizeSize(forCrop: size), size: size)
          }
        }
      }
      let rate = Double(loaded) / seconds
      let serialRate = Double(serial) / serialSeconds
      results.append(Result(
        transform: randomCrops ? "training" : "evaluation", size: size, batch: batch, images: loaded, seconds: seconds,
        imagesPerSecond: rate, serialImagesPerSecond: serialRate, speedup: rate / serialRate))
    }
    return results
  }
}
