import DiswotTensor

/// One split of a dataset opened to be read in batches at the size a network takes:
/// how evaluation, probe batches and training read every kind of data.
///
/// Binary datasets (CIFAR, MNIST) are read record by record as stored; when the network
/// takes another height and width (the `mobilenetv2` space at 64×64 on 32×32 CIFAR) their
/// images are resized with PIL's bilinear resize, as `transforms.Resize` would in
/// PyTorch, and `resizeNote(to:)` says so for the output. Image folders are decoded and
/// prepared per batch (`ImagePreparation`), never held whole.
public struct DataSplit: Sendable {
  public let spec: DataSpec
  public let split: Split
  /// Images in the split.
  public let count: Int
  public let classCount: Int
  /// Channels of every image (3 for image folders, which are converted to RGB).
  public let channels: Int
  /// [H, W] of the stored images; nil for image folders, whose images vary.
  public let storedSize: [Int]?
  private let folder: ImageFolder?

  /// Opens `split` of `spec`: files are checked, indexed, not read. Gaussian noise is not
  /// on disk and throws `notOnDisk`.
  public init(_ spec: DataSpec, _ split: Split) throws(DatasetError) {
    self.spec = spec
    self.split = split
    switch spec {
    case .folder(let directory):
      let folder = try ImageFolder(root: directory, split: split)
      (self.folder, count, classCount, channels, storedSize) = (folder, folder.count, folder.classCount, 3, nil)
    case .cifar10, .cifar100:
      count = try spec.count(split)
      if case .cifar10 = spec { classCount = 10 } else { classCount = 100 }
      (folder, channels, storedSize) = (nil, 3, [32, 32])
    case .mnist:
      count = try spec.count(split)
      // One record tells the image size; an empty split has none to tell.
      let shape = count > 0 ? try spec.load(split, records: [0]).imageShape : [1, 28, 28]
      (folder, classCount, channels, storedSize) = (nil, 10, 1, Array(shape.dropFirst()))
    case .gaussian:
      throw .notOnDisk(spec)
    }
  }

  /// `split` of an image folder already indexed (an unlabelled folder, or pseudo-labelled
  /// images: `ImageFolder.relabelled`), read as `folder:DIR` is.
  public init(folder: ImageFolder, split: Split) {
    (spec, self.split, self.folder) = (.folder(directory: folder.directory), split, folder)
    (count, classCount, channels, storedSize) = (folder.count, folder.classCount, 3, nil)
  }

  /// The image folder behind the split, if it is one.
  public var imageFolder: ImageFolder? { folder }

  /// How images become `height`×`width` inputs, for reports; nil when they are used as
  /// stored. `resize` is a folder's shorter side before the crop (nil: the 8/7 rule).
  public func resizeNote(height: Int, width: Int, resize: Int? = nil) -> String? {
    guard let storedSize else {
      let size = height
      return "images resized to \(resize ?? ImageTransforms.resizeSize(forCrop: size)) on the shorter side and centre-cropped to \(size)×\(size)"
    }
    guard storedSize != [height, width] else { return nil }
    return "\(storedSize[0])×\(storedSize[1]) images resized (bilinear) to \(height)×\(width)"
  }

  /// The images at `records` as [N, channels, height, width] pixels in [0, 1], with their
  /// labels. Image folders take square sizes only; `training` seeds (one per record)
  /// select random-resized-crop and flip instead of resize and centre crop (folders only:
  /// binary datasets are augmented by the trainer), and `resize` replaces the 8/7 rule's
  /// shorter side before the centre crop (folders only; at least the crop). A bad image
  /// is an error naming it, or with `skipBadImages` is left out and named in `skipped`.
  public func load(
    _ records: [Int], height: Int, width: Int, training seeds: [UInt64]? = nil, resize: Int? = nil,
    skipBadImages: Bool = false
  ) throws(DatasetError) -> (dataset: Dataset, skipped: [String]) {
    var fresh = Tensor(zeros: [0])
    return try load(records, height: height, width: width, training: seeds, resize: resize, skipBadImages: skipBadImages, recycling: &fresh)
  }

  /// `load(_:height:width:training:resize:skipBadImages:)`, an image folder's batch
  /// written into `recycled`'s storage when it fits (see `ImageFolder.load(…recycling:)`).
  public func load(
    _ records: [Int], height: Int, width: Int, training seeds: [UInt64]? = nil, resize: Int? = nil,
    skipBadImages: Bool = false, recycling recycled: inout Tensor
  ) throws(DatasetError) -> (dataset: Dataset, skipped: [String]) {
    try Self.check(resize: resize, size: height, spec: spec)
    if let folder {
      guard height == width else {
        throw .invalidFolder("image folders are prepared as square inputs; the network takes \(height)×\(width)")
      }
      let preparation: ImagePreparation =
        seeds.map { .training(size: height, seeds: $0) }
        ?? .evaluation(size: height, resize: resize ?? ImageTransforms.resizeSize(forCrop: height))
      return try folder.load(records, preparation, skipBadImages: skipBadImages, recycling: &recycled)
    }
    let stored = try spec.load(split, records: records)
    guard stored.imageShape.dropFirst().elementsEqual([height, width]) else {
      return (Self.resized(stored, height: height, width: width), [])
    }
    return (stored, [])
  }

  /// Refuses a `resize` that does not apply: binary datasets are not resized then cropped,
  /// and a shorter side below the crop would leave nothing to crop.
  public static func check(resize: Int?, size: Int, spec: DataSpec) throws(DatasetError) {
    guard let resize else { return }
    guard case .folder = spec else {
      throw .invalidSpec(spec.description, reason: "a resize before the centre crop applies to image folders (folder:DIR) only")
    }
    guard resize >= size else {
      throw .invalidSpec(spec.description, reason: "resize \(resize) is smaller than the \(size)×\(size) crop it is cut from")
    }
  }

  /// Every image of `dataset` resized to `height`×`width` with PIL's bilinear resize, on
  /// its 8-bit pixels (the stored [0, 1] values are exactly byte/255).
  static func resized(_ dataset: Dataset, height: Int, width: Int) -> Dataset {
    let (c, h, w) = (dataset.images.c, dataset.images.h, dataset.images.w)
    var out = Tensor(zeros: [dataset.count, c, height, width])
    var bytes = [UInt8](repeating: 0, count: h * w)
    dataset.images.withUnsafeBufferPointer { source in
      out.withUnsafeMutableBufferPointer { destination in
        for plane in 0..<dataset.count * c {
          for i in 0..<h * w { bytes[i] = UInt8((source[plane * h * w + i] * 255).rounded()) }
          let resized = bytes.withUnsafeBufferPointer {
            ImageResize.resample($0.baseAddress!, width: w, height: h, channels: 1, toWidth: width, toHeight: height)
          }
          resized.withUnsafeBufferPointer {
            PixelScaling.scale($0.baseAddress!, into: destination.baseAddress! + plane * height * width, count: height * width)
          }
        }
      }
    }
    return Dataset(images: out, labels: dataset.labels, classCount: dataset.classCount)
  }
}
