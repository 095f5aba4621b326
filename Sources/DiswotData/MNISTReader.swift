import DiswotTensor

/// MNIST in its IDX distribution, uncompressed: `train-images-idx3-ubyte` with
/// `train-labels-idx1-ubyte`, and `t10k-images-idx3-ubyte` with `t10k-labels-idx1-ubyte`.
/// Any IDX image set with 10 classes in this layout (Fashion-MNIST, KMNIST) loads too.
public enum MNIST {
  /// Loads `split` from `directory`: [N, 1, rows, cols] pixels in [0, 1], labels 0-9.
  /// With `limit` only the first `limit` images and labels are read.
  public static func load(directory: String, split: Split, limit: Int? = nil) throws(DatasetError)
    -> Dataset
  {
    precondition((limit ?? 0) >= 0, "limit must not be negative")
    let files = try Files(directory: directory, split: split)
    let (imagesPath, labelsPath) = (files.imagesPath, files.labelsPath)
    let (imagesHeader, labelsHeader) = (files.imagesHeader, files.labelsHeader)
    let (imageCount, rows, columns) = (files.count, files.rows, files.columns)

    let total = min(imageCount, limit ?? .max)
    let labelBytes = try BinaryFile.readPrefix(labelsPath, count: labelsHeader.size + total)
    var labels: [Int] = []
    labels.reserveCapacity(total)
    for record in 0..<total {
      let label = Int(labelBytes[labelsHeader.size + record])
      guard label < classCount else {
        throw .badLabel(file: labelsPath, record: record, label: label, classCount: classCount)
      }
      labels.append(label)
    }

    let pixelCount = total * rows * columns
    let pixelBytes = try BinaryFile.readPrefix(imagesPath, count: imagesHeader.size + pixelCount)
    var images = Tensor(zeros: [total, 1, rows, columns])
    pixelBytes.withUnsafeBufferPointer { source in
      images.withUnsafeMutableBufferPointer { destination in
        guard pixelCount > 0 else { return }
        PixelScaling.scale(
          source.baseAddress! + imagesHeader.size, into: destination.baseAddress!, count: pixelCount
        )
      }
    }
    return Dataset(images: images, labels: labels, classCount: classCount)
  }

  /// The number of images in `split`; both files are checked (headers, sizes), not read.
  public static func count(directory: String, split: Split) throws(DatasetError) -> Int {
    try Files(directory: directory, split: split).count
  }

  /// The images at `indices` of `split`, in that order, reading only those images and labels.
  public static func load(directory: String, split: Split, records indices: [Int]) throws(DatasetError) -> Dataset {
    let files = try Files(directory: directory, split: split)
    let imageSize = files.rows * files.columns
    for index in indices { precondition((0..<files.count).contains(index), "record \(index) outside 0..<\(files.count)") }
    let labelBytes = try BinaryFile.readRanges(files.labelsPath, at: indices.map { files.labelsHeader.size + $0 }, count: 1)
    var labels: [Int] = []
    labels.reserveCapacity(indices.count)
    for (record, byte) in zip(indices, labelBytes) {
      guard Int(byte) < classCount else {
        throw .badLabel(file: files.labelsPath, record: record, label: Int(byte), classCount: classCount)
      }
      labels.append(Int(byte))
    }
    let pixelBytes = try BinaryFile.readRanges(
      files.imagesPath, at: indices.map { files.imagesHeader.size + $0 * imageSize }, count: imageSize)
    var images = Tensor(zeros: [indices.count, 1, files.rows, files.columns])
    pixelBytes.withUnsafeBufferPointer { source in
      images.withUnsafeMutableBufferPointer { destination in
        guard !pixelBytes.isEmpty else { return }
        PixelScaling.scale(source.baseAddress!, into: destination.baseAddress!, count: pixelBytes.count)
      }
    }
    return Dataset(images: images, labels: labels, classCount: classCount)
  }

  private static let classCount = 10

  /// A split's images and labels files, their headers checked against each other.
  private struct Files {
    let imagesPath: String
    let labelsPath: String
    let imagesHeader: IDXHeader
    let labelsHeader: IDXHeader
    var count: Int { imagesHeader.dimensions[0] }
    var rows: Int { imagesHeader.dimensions[1] }
    var columns: Int { imagesHeader.dimensions[2] }

    init(directory: String, split: Split) throws(DatasetError) {
      let prefix = split == .train ? "train" : "t10k"
      imagesPath = filePath(directory, "\(prefix)-images-idx3-ubyte")
      labelsPath = filePath(directory, "\(prefix)-labels-idx1-ubyte")
      imagesHeader = try IDXHeader(path: imagesPath, magic: IDXHeader.imagesMagic)
      labelsHeader = try IDXHeader(path: labelsPath, magic: IDXHeader.labelsMagic)
      guard imagesHeader.dimensions[0] == labelsHeader.dimensions[0] else {
        throw .countMismatch(
          images: imagesPath, imageCount: imagesHeader.dimensions[0], labels: labelsPath,
          labelCount: labelsHeader.dimensions[0])
      }
    }
  }
}

/// The header of an unsigned-byte IDX file, checked against the file's size: a big-endian
/// u32 magic number (0x0000, type 0x08, dimension count), then one big-endian u32 per
/// dimension; the data that follows holds exactly the product of the dimensions in bytes.
struct IDXHeader {
  /// Unsigned bytes in 3 dimensions (count, rows, columns).
  static let imagesMagic: UInt32 = 0x0803
  /// Unsigned bytes in 1 dimension (count).
  static let labelsMagic: UInt32 = 0x0801

  /// Extent of each dimension, outermost first.
  let dimensions: [Int]
  /// Bytes before the data.
  var size: Int { 4 + 4 * dimensions.count }

  init(path: String, magic: UInt32) throws(DatasetError) {
    let dimensionCount = Int(magic & 0xFF)
    let headerSize = 4 + 4 * dimensionCount
    let fileSize = try BinaryFile.size(path)
    guard fileSize >= headerSize else {
      throw .wrongSize(
        file: path, size: fileSize, expected: "at least the \(headerSize)-byte IDX header")
    }
    let bytes = try BinaryFile.readPrefix(path, count: headerSize)
    let words = stride(from: 0, to: headerSize, by: 4).map { start in
      bytes[start..<start + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }
    guard words[0] == magic else { throw .badMagic(file: path, found: words[0], expected: magic) }
    dimensions = words.dropFirst().map { Int($0) }

    // Saturating: three u32 extents can overflow Int, and a saturated size matches no file.
    let dataSize = dimensions.reduce(1) { product, extent in
      let (result, overflow) = product.multipliedReportingOverflow(by: extent)
      return overflow ? .max : result
    }
    guard fileSize - headerSize == dataSize else {
      throw .wrongSize(
        file: path, size: fileSize,
        expected: "a \(headerSize)-byte IDX header and "
          + "\(dimensions.map(String.init).joined(separator: "×")) data bytes")
    }
  }
}
