import DiswotData
import DiswotDistillation
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
    /// CPU seconds of the process per wall second while the loader ran (its last pass):
    /// 2 on an idle 2-core machine when decoding keeps both cores busy; less when other
    /// processes share them.
    var coresUsed: Double

    enum CodingKeys: String, CodingKey {
      case transform, size, batch, images, seconds, speedup
      case coresUsed = "cores_used"
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
      // Best of two passes: the first also reads the files into the page cache.
      var loaded = 0
      var cores = 0.0
      let seconds = try (0..<2).map { _ in
        loaded = 0
        let cpuBefore = processCPUSeconds()
        let wall = try Timing.seconds {
          let loader = try BatchLoader(source: .streamed(images), batchSize: batch, epoch: 0, seed: 0, shuffle: randomCrops)
          while let b = try loader.nextBatch() { loaded += b.labels.count }
        }
        cores = (processCPUSeconds() - cpuBefore) / wall
        return wall
      }.min()!
      // The same work (decode, transform, to floats, normalise), one image at a time on
      // this thread.
      let serial = min(serialCount, count)
      let serialSeconds = try Timing.seconds {
        for i in 0..<serial {
          var one = try split.load([i], height: size, width: size, training: randomCrops ? [UInt64(i)] : nil).dataset
          try one.normalize(.imagenet)
        }
      }
      let rate = Double(loaded) / seconds
      let serialRate = Double(serial) / serialSeconds
      results.append(Result(
        transform: randomCrops ? "training" : "evaluation", size: size, batch: batch, images: loaded, seconds: seconds,
        imagesPerSecond: rate, serialImagesPerSecond: serialRate, speedup: rate / serialRate, coresUsed: cores))
    }
    return results
  }

  /// User + system CPU time of this process so far.
  static func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let seconds = { (t: timeval) in Double(t.tv_sec) + Double(t.tv_usec) * 1e-6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
  }
}
