import DiswotData

/// One split of a run's data as the trainer reads it: binary datasets (CIFAR, MNIST) are
/// small enough to load whole and normalise once, as they always were; image folders are
/// streamed batch by batch (`StreamedImages`) at the student's input size.
enum TrainingData {
  case memory(Dataset)
  case streamed(StreamedImages)

  /// Images in the split (after the spec's limit).
  var count: Int {
    switch self {
    case .memory(let dataset): return dataset.count
    case .streamed(let images): return images.count
    }
  }

  /// [C, H, W] of the images the network sees.
  var imageShape: [Int] {
    switch self {
    case .memory(let dataset): return dataset.imageShape
    case .streamed(let images): return images.imageShape
    }
  }

  /// The split's batches for one epoch: shuffled and augmented for training (`augment`:
  /// CIFAR's pad-and-crop in memory, random-resized-crop and flip for folders), in order
  /// and unaugmented for evaluation.
  func loader(
    batch: Int, epoch: Int, seed: UInt64, training: Bool, augment: Bool, normalization: Normalization,
    startBatch: Int = 0
  ) throws -> BatchLoader {
    switch self {
    case .memory(let dataset):
      let augmentation = training && augment ? Augmentation.cifar(normalization: normalization) : .none
      return try BatchLoader(
        dataset: dataset, batchSize: batch, epoch: epoch, seed: seed, shuffle: training, augmentation: augmentation,
        startBatch: startBatch)
    case .streamed(let images):
      let prepared = try StreamedImages(
        split: images.split, count: images.count, size: images.size, resize: images.resize,
        randomCrops: training && augment, normalization: images.normalization, skipBadImages: images.skipBadImages)
      return try BatchLoader(
        source: .streamed(prepared), batchSize: batch, epoch: epoch, seed: seed, shuffle: training, startBatch: startBatch)
    }
  }
}

extension TrainingData {
  /// Opens both splits of `spec`'s data: binary datasets loaded whole (up to the limits)
  /// and normalised in place with `normalization(channels)`; image folders indexed, to be
  /// decoded at `size`×`size` (`size(channels)` is asked only for folders).
  static func open(
    _ spec: TrainingSpec, normalization: (_ channels: Int) throws -> Normalization, size: () throws -> Int
  ) throws -> (train: TrainingData, test: TrainingData, classCount: Int, normalization: Normalization) {
    let data = try DataSpec(parsing: spec.data)
    if let unlabelled = spec.unlabelled {
      return try open(unlabelled: unlabelled, spec, data: data, normalization: normalization, size: size)
    }
    if case .folder = data {
      let train = try DataSplit(data, .train)
      let test = try DataSplit(data, .test)
      let n = try normalization(train.channels)
      let side = try size()
      return (
        .streamed(try streamed(train, limit: spec.trainLimit, spec, side: side, n)),
        .streamed(try streamed(test, limit: spec.testLimit, spec, side: side, n)), train.classCount, n)
    }
    var train = try data.load(.train, limit: spec.trainLimit)
    var test = try data.load(.test, limit: spec.testLimit)
    let n = try normalization(train.imageShape[0])
    try train.normalize(n)
    try test.normalize(n)
    return (.memory(train), .memory(test), train.classCount, n)
  }

  /// The unlabelled images of `spec.unlabelled` as the training split (streamed at
  /// `size`, their placeholder labels for the teachers to replace) and `data`'s test split,
  /// which fixes the classes and must be RGB images of the same size.
  private static func open(
    unlabelled directory: String, _ spec: TrainingSpec, data: DataSpec,
    normalization: (_ channels: Int) throws -> Normalization, size: () throws -> Int
  ) throws -> (train: TrainingData, test: TrainingData, classCount: Int, normalization: Normalization) {
    let test: TrainingData
    let classCount: Int
    let n: Normalization
    let side: Int
    if case .folder = data {
      let split = try DataSplit(data, .test)
      (n, side, classCount) = (try normalization(split.channels), try size(), split.classCount)
      test = .streamed(try streamed(split, limit: spec.testLimit, spec, side: side, n))
    } else {
      var loaded = try data.load(.test, limit: spec.testLimit)
      guard loaded.imageShape[0] == 3 else {
        throw TrainingError.invalidSpec("the unlabelled images are RGB; the test images of \(data) have \(loaded.imageShape[0]) channel(s)")
      }
      (n, side, classCount) = (try normalization(3), try size(), loaded.classCount)
      try loaded.normalize(n)
      test = .memory(loaded)
    }
    guard test.imageShape == [3, side, side] else {
      throw TrainingError.invalidSpec(
        "the unlabelled images are prepared at \(side)×\(side) but the test images of \(data) are \(test.imageShape[1])×\(test.imageShape[2]); "
          + "give that size as image_size (--image-size)")
    }
    let folder = try ImageFolder(unlabelled: directory, classCount: classCount)
    let train = try streamed(DataSplit(folder: folder, split: .train), limit: spec.trainLimit, spec, side: side, n)
    return (.streamed(train), test, classCount, n)
  }

  /// The first `limit` images of an image folder's `split` (all of it without one),
  /// decoded at `side`×`side` as `spec` says (resize, bad images) and normalised by `n`.
  private static func streamed(
    _ split: DataSplit, limit: Int?, _ spec: TrainingSpec, side: Int, _ n: Normalization
  ) throws -> StreamedImages {
    try StreamedImages(
      split: split, count: min(split.count, limit ?? .max), size: side, resize: spec.resize, randomCrops: false,
      normalization: n, skipBadImages: spec.skipsBadImages)
  }
}
