import DiswotTensor

/// CIFAR-10 in its binary distribution (cifar-10-batches-bin): `data_batch_1.bin` …
/// `data_batch_5.bin` for training and `test_batch.bin` for testing, each a run of
/// 3,073-byte records (1 label byte, then 1,024 red, 1,024 green and 1,024 blue bytes,
/// row-major 32×32). Files may hold any whole number of records, so subsets load too.
public enum CIFAR10 {
  /// Class names in label order.
  public static let classNames = [
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
  ]

  /// Loads `split` from `directory`: [N, 3, 32, 32] pixels in [0, 1], labels 0-9. All
  /// files of the split must exist; with `limit` only the first `limit` images are read.
  public static func load(directory: String, split: Split, limit: Int? = nil) throws(DatasetError)
    -> Dataset
  {
    try format.load(directory: directory, split: split, limit: limit)
  }

  /// The number of images in `split`; every file is checked (exists, whole records), none read.
  public static func count(directory: String, split: Split) throws(DatasetError) -> Int {
    try format.files(directory: directory, split: split).reduce(0) { $0 + $1.records }
  }

  /// The images at `indices` of `split` (numbered across its files in order), in that order,
  /// reading only those records.
  public static func load(directory: String, split: Split, records indices: [Int]) throws(DatasetError) -> Dataset {
    try format.load(directory: directory, split: split, records: indices)
  }

  private static let format = CIFARFormat(
    name: "CIFAR-10", labelBytes: 1, labelIndex: 0, classCount: 10,
    trainFiles: (1...5).map { "data_batch_\($0).bin" }, testFiles: ["test_batch.bin"])
}

/// CIFAR-100 in its binary distribution (cifar-100-binary): `train.bin` and `test.bin`,
/// 3,074-byte records (a coarse label byte, a fine label byte, then 3,072 pixel bytes
/// laid out as in CIFAR-10).
public enum CIFAR100 {
  /// Which of the two labels each record carries to use.
  public enum Labels: Sendable {
    /// The 100 classes.
    case fine
    /// The 20 superclasses.
    case coarse
  }

  /// Loads `split` from `directory`: [N, 3, 32, 32] pixels in [0, 1], with fine labels
  /// (0-99) or coarse ones (0-19). With `limit` only the first `limit` images are read.
  public static func load(
    directory: String, split: Split, labels: Labels = .fine, limit: Int? = nil
  ) throws(DatasetError) -> Dataset {
    try format(labels).load(directory: directory, split: split, limit: limit)
  }

  /// The number of images in `split`; every file is checked (exists, whole records), none read.
  public static func count(directory: String, split: Split) throws(DatasetError) -> Int {
    try format(.fine).files(directory: directory, split: split).reduce(0) { $0 + $1.records }
  }

  /// The images at `indices` of `split`, in that order, reading only those records.
  public static func load(
    directory: String, split: Split, labels: Labels = .fine, records indices: [Int]
  ) throws(DatasetError) -> Dataset {
    try format(labels).load(directory: directory, split: split, records: indices)
  }

  private static func format(_ labels: Labels) -> CIFARFormat {
    let (labelIndex, classCount) = labels == .fine ? (1, 100) : (0, 20)
    return CIFARFormat(
      name: "CIFAR-100", labelBytes: 2, labelIndex: labelIndex, classCount: classCount,
      trainFiles: ["train.bin"], testFiles: ["test.bin"])
  }
}

/// The record layout shared by CIFAR-10 and CIFAR-100 and the reading of it.
struct CIFARFormat {
  /// Names the dataset in error messages.
  let name: String
  /// Label bytes before the pixels of each record.
  let labelBytes: Int
  /// Which label byte holds the label used.
  let labelIndex: Int
  let classCount: Int
  let trainFiles: [String]
  let testFiles: [String]

  static let imageShape = [3, 32, 32]
  static let imageSize = 3 * 32 * 32

  var recordSize: Int { labelBytes + Self.imageSize }

  /// The split's files with the number of records each holds; every file is checked
  /// (exists, whole records) before any is read.
  func files(directory: String, split: Split) throws(DatasetError) -> [(path: String, records: Int)] {
    var files: [(path: String, records: Int)] = []
    for file in split == .train ? trainFiles : testFiles {
      let path = filePath(directory, file)
      let size = try BinaryFile.size(path)
      guard size % recordSize == 0 else {
        throw .wrongSize(
          file: path, size: size,
          expected: "a multiple of the \(recordSize)-byte \(name) record "
            + "(\(labelBytes) label byte\(labelBytes == 1 ? "" : "s") + \(Self.imageSize) pixel bytes)"
        )
      }
      files.append((path, size / recordSize))
    }
    return files
  }

  /// Checks every file of the split, then reads only the records `limit` keeps, decoding
  /// straight into one image tensor.
  func load(directory: String, split: Split, limit: Int?) throws(DatasetError) -> Dataset {
    precondition((limit ?? 0) >= 0, "limit must not be negative")
    let files = try files(directory: directory, split: split)
    let total = min(files.reduce(0) { $0 + $1.records }, limit ?? .max)
    var images = Tensor(zeros: [total] + Self.imageShape)
    var labels: [Int] = []
    labels.reserveCapacity(total)
    for (path, records) in files where labels.count < total {
      let first = labels.count
      let taken = min(records, total - first)
      let bytes = try BinaryFile.readPrefix(path, count: taken * recordSize)
      for record in 0..<taken {
        let label = Int(bytes[record * recordSize + labelIndex])
        guard label < classCount else {
          throw .badLabel(file: path, record: record, label: label, classCount: classCount)
        }
        labels.append(label)
      }
      bytes.withUnsafeBufferPointer { source in
        images.withUnsafeMutableBufferPointer { destination in
          for record in 0..<taken {
            PixelScaling.scale(
              source.baseAddress! + record * recordSize + labelBytes,
              into: destination.baseAddress! + (first + record) * Self.imageSize,
              count: Self.imageSize)
          }
        }
      }
    }
    return Dataset(images: images, labels: labels, classCount: classCount)
  }

  /// The records at `indices` (numbered across the split's files in order), in that order.
  /// Only those records are read (one `pread` each) and only their labels checked.
  func load(directory: String, split: Split, records indices: [Int]) throws(DatasetError) -> Dataset {
    let files = try files(directory: directory, split: split)
    let total = files.reduce(0) { $0 + $1.records }
    // Per file: which slots of the result its records fill, and where they are in it.
    var wanted = files.map { _ in (slots: [Int](), records: [Int]()) }
    for (slot, index) in indices.enumerated() {
      precondition((0..<total).contains(index), "record \(index) outside 0..<\(total)")
      var (file, record) = (0, index)
      while record >= files[file].records {
        record -= files[file].records
        file += 1
      }
      wanted[file].slots.append(slot)
      wanted[file].records.append(record)
    }
    var images = Tensor(zeros: [indices.count] + Self.imageShape)
    var labels = [Int](repeating: 0, count: indices.count)
    for (file, want) in zip(files, wanted) where !want.records.isEmpty {
      let bytes = try BinaryFile.readRanges(file.path, at: want.records.map { $0 * recordSize }, count: recordSize)
      for (i, record) in want.records.enumerated() {
        let label = Int(bytes[i * recordSize + labelIndex])
        guard label < classCount else {
          throw .badLabel(file: file.path, record: record, label: label, classCount: classCount)
        }
        labels[want.slots[i]] = label
      }
      bytes.withUnsafeBufferPointer { source in
        images.withUnsafeMutableBufferPointer { destination in
          for (i, slot) in want.slots.enumerated() {
            PixelScaling.scale(
              source.baseAddress! + i * recordSize + labelBytes,
              into: destination.baseAddress! + slot * Self.imageSize, count: Self.imageSize)
          }
        }
      }
    }
    return Dataset(images: images, labels: labels, classCount: classCount)
  }
}
