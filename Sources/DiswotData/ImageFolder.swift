import DiswotTensor
import Dispatch
import Foundation

/// A split of an image folder in torchvision's `ImageFolder` layout:
///
///     DIR/train/<class>/<image>   the train split
///     DIR/val/<class>/<image>     the test split (DIR/test/ when there is no val/)
///
/// As in torchvision: classes are the sub-folders (symbolic links followed, hidden ones
/// included), numbered in sorted order (by code point, as Python sorts); each class's
/// images are found recursively, in the order of `sorted(os.walk(...))` then sorted
/// names, and are the files whose names end (ignoring case) in one of torchvision's
/// image extensions — other files are not images and are ignored. Of those, JPEG and PNG
/// files decode; any other format is a bad image, reported like a corrupt one.
///
/// The class numbering always comes from `train/` when it exists, so both splits label
/// alike: the test split may hold fewer classes, but a class that train/ lacks is an
/// error. A split whose folder is missing is an error naming the folder expected.
/// Only paths and labels are held: images are decoded when a batch asks for them.
public struct ImageFolder: Sendable {
  /// The split's folder (DIR/train, DIR/val or DIR/test).
  public let directory: String
  /// Class names, in label order.
  public let classNames: [String]
  /// Every image's path, in torchvision's order.
  public let paths: [String]
  /// Every image's label, in `paths`' order.
  public let labels: [Int]

  public var count: Int { paths.count }
  public var classCount: Int { classNames.count }

  /// File name endings torchvision's `ImageFolder` takes for images.
  public static let imageExtensions = [".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"]

  /// Indexes `split` of the image folder `root` (no image is read).
  public init(root: String, split: Split) throws(DatasetError) {
    guard Self.isDirectory(root) else { throw .invalidFolder("image folder \(root) is not a directory") }
    let trainDirectory = filePath(root, "train")
    let hasTrain = Self.isDirectory(trainDirectory)
    switch split {
    case .train:
      guard hasTrain else {
        throw .invalidFolder("image folder \(root) has no train/ split (expected \(root)/train/<class>/<image>)")
      }
      directory = trainDirectory
    case .test:
      if Self.isDirectory(filePath(root, "val")) {
        directory = filePath(root, "val")
      } else if Self.isDirectory(filePath(root, "test")) {
        directory = filePath(root, "test")
      } else {
        throw .invalidFolder("image folder \(root) has no val/ or test/ split (expected \(root)/val/<class>/<image>)")
      }
    }
    let ownClasses = try Self.classes(in: directory)
    classNames = hasTrain ? try Self.classes(in: trainDirectory) : ownClasses
    guard !classNames.isEmpty else { throw .invalidFolder("\(hasTrain ? trainDirectory : directory) holds no class folders") }
    let labelOf = Dictionary(uniqueKeysWithValues: classNames.enumerated().map { ($1, $0) })
    var paths: [String] = []
    var labels: [Int] = []
    var empty: [String] = []
    for name in ownClasses {
      guard let label = labelOf[name] else {
        throw .invalidFolder("\(directory) has class \(name), which \(trainDirectory) does not have")
      }
      let files = Self.images(under: filePath(directory, name))
      if files.isEmpty { empty.append(name) }
      paths += files
      labels += Array(repeating: label, count: files.count)
    }
    guard empty.isEmpty else {
      throw .invalidFolder("\(directory): no image files (\(Self.imageExtensions.joined(separator: " "))) for the classes \(empty.joined(separator: ", "))")
    }
    self.paths = paths
    self.labels = labels
  }

  /// Sub-folder names of `directory`, sorted.
  static func classes(in directory: String) throws(DatasetError) -> [String] {
    let entries: [String]
    do { entries = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
      throw .unreadable(file: directory, reason: error.localizedDescription)
    }
    return entries.filter { isDirectory(filePath(directory, $0)) }.sorted(by: pythonOrder)
  }

  /// The image files under `directory`, recursively, in torchvision's order.
  static func images(under directory: String) -> [String] {
    var folders: [(path: String, files: [String])] = []
    var pending = [directory]
    var visited = Set<String>()
    while let folder = pending.popLast() {
      // Symbolic links are followed, as os.walk(followlinks=True) does; a link cycle is not.
      guard visited.insert(realPath(folder)).inserted else { continue }
      let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
      var files: [String] = []
      for entry in entries {
        let path = filePath(folder, entry)
        if isDirectory(path) {
          pending.append(path)
        } else if imageExtensions.contains(where: { entry.lowercased().hasSuffix($0) }) {
          files.append(entry)
        }
      }
      folders.append((folder, files.sorted(by: pythonOrder)))
    }
    return folders.sorted { pythonOrder($0.path, $1.path) }.flatMap { folder in folder.files.map { filePath(folder.path, $0) } }
  }

  /// Python's string order: code point by code point.
  static func pythonOrder(_ a: String, _ b: String) -> Bool {
    a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars)
  }

  static func isDirectory(_ path: String) -> Bool {
    var directory: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
  }

  private static func realPath(_ path: String) -> String {
    URL(fileURLWithPath: path).resolvingSymlinksInPath().path
  }
}

/// How images of any size become network inputs of one size.
public enum ImagePreparation: Sendable, Equatable {
  /// `Resize(resize)` + `CenterCrop(size)`: evaluation and probe batches. `resize` is
  /// usually `ImageTransforms.resizeSize(forCrop: size)`; `--resize` overrides it (e.g. 32
  /// for CIFAR-sized images, whose 7/8 crop would drop their border); at least `size`.
  case evaluation(size: Int, resize: Int)
  /// `RandomResizedCrop(size)` + `RandomHorizontalFlip()`, image i's draws from a
  /// generator seeded by `seeds[i]`, so a batch is the same whatever thread decodes it.
  case training(size: Int, seeds: [UInt64])

  var size: Int {
    switch self {
    case .evaluation(let size, _), .training(let size, _): return size
    }
  }
}

extension ImageFolder {
  /// The images at `records`, decoded on all cores and prepared, as [N, 3, size, size]
  /// pixels in [0, 1]. An image that cannot be read or decoded is an error naming it;
  /// with `skipBadImages` it is left out of the result instead and named in `skipped`.
  public func load(
    _ records: [Int], _ preparation: ImagePreparation, skipBadImages: Bool = false
  ) throws(DatasetError) -> (dataset: Dataset, skipped: [String]) {
    var fresh = Tensor(zeros: [0])
    return try load(records, preparation, skipBadImages: skipBadImages, recycling: &fresh)
  }

  /// `load(_:_:skipBadImages:)` writing into `recycled`'s storage when it has the batch's
  /// shape (it is taken, left empty): a loader that hands back each batch's tensor once
  /// the batch is used spares the allocator a fresh 38 MB (64 images at 224×224) per
  /// batch, whose page faults otherwise cost as much as decoding (Docs/benchmarks.md).
  public func load(
    _ records: [Int], _ preparation: ImagePreparation, skipBadImages: Bool = false, recycling recycled: inout Tensor
  ) throws(DatasetError) -> (dataset: Dataset, skipped: [String]) {
    if case .training(_, let seeds) = preparation { precondition(seeds.count == records.count, "one seed per record") }
    if case .evaluation(let size, let resize) = preparation { precondition(resize >= size, "resize \(resize) below the crop \(size)") }
    for r in records { precondition((0..<count).contains(r), "record \(r) outside 0..<\(count)") }
    let size = preparation.size
    let imageSize = 3 * size * size
    let results = UnsafeMutableBufferPointer<ImageError?>.allocate(capacity: records.count)
    results.initialize(repeating: nil)
    defer { results.deallocate() }
    var images = Tensor(zeros: [0])
    swap(&images, &recycled)  // no second reference: writing below does not copy
    if images.shape != [records.count, 3, size, size] { images = Tensor(zeros: [records.count, 3, size, size]) }
    images.withUnsafeMutableBufferPointer { pixels in
      nonisolated(unsafe) let (pixels, results) = (pixels, results)
      DispatchQueue.concurrentPerform(iterations: records.count) { slot in
        do throws(ImageError) {
          let image = try ImageDecoder.decode(path: paths[records[slot]])
          let prepared: RGBImage
          switch preparation {
          case .evaluation(let size, let resize):
            prepared = ImageTransforms.resizeAndCenterCrop(image, resize: resize, size: size)
          case .training(let size, let seeds):
            var rng = SeededGenerator(seed: seeds[slot])
            prepared = ImageTransforms.randomResizedCropAndFlip(image, size: size, using: &rng)
          }
          prepared.write(into: pixels.baseAddress! + slot * imageSize)
        } catch {
          results[slot] = error
        }
      }
    }
    let failures = results.compactMap { $0 }
    if let first = failures.first, !skipBadImages { throw .badImage(first) }
    guard !failures.isEmpty else { return (Dataset(images: images, labels: records.map { labels[$0] }, classCount: classCount), []) }
    let kept = (0..<records.count).filter { results[$0] == nil }
    let dataset = Dataset(images: images, labels: records.map { labels[$0] }, classCount: classCount)
    let (keptImages, keptLabels) = dataset.batch(kept)
    return (Dataset(images: keptImages, labels: keptLabels, classCount: classCount), failures.map(\.path))
  }
}
