/// Why a dataset could not be loaded or prepared; file errors name the file and say why.
public enum DatasetError: Error, Equatable, CustomStringConvertible {
  /// A file the dataset needs does not exist.
  case missingFile(String)
  /// A file exists but could not be read (permissions, I/O error, …).
  case unreadable(file: String, reason: String)
  /// A file's size does not fit its format (truncated, padded, or another file).
  case wrongSize(file: String, size: Int, expected: String)
  /// An IDX file starts with the wrong magic number (not IDX, or images and labels swapped).
  case badMagic(file: String, found: UInt32, expected: UInt32)
  /// A record's label is outside the dataset's classes; `record` counts from 0 in that file.
  case badLabel(file: String, record: Int, label: Int, classCount: Int)
  /// An images file and its labels file hold different numbers of samples.
  case countMismatch(images: String, imageCount: Int, labels: String, labelCount: Int)
  /// A data spec string could not be parsed.
  case invalidSpec(String, reason: String)
  /// Normalisation values are malformed or do not fit the images.
  case invalidNormalization(String)
  /// An image folder's layout is not torchvision's ImageFolder layout.
  case invalidFolder(String)
  /// An image could not be read or decoded.
  case badImage(ImageError)
  /// The spec names generated data (Gaussian noise), which has no files to load.
  case notOnDisk(DataSpec)

  public var description: String {
    switch self {
    case .missingFile(let file):
      return "missing dataset file \(file)"
    case .unreadable(let file, let reason):
      return "cannot read dataset file \(file): \(reason)"
    case .wrongSize(let file, let size, let expected):
      return "dataset file \(file) has \(size) bytes; expected \(expected)"
    case .badMagic(let file, let found, let expected):
      return "dataset file \(file) starts with magic number \(found), expected \(expected)"
    case .badLabel(let file, let record, let label, let classCount):
      return
        "dataset file \(file), record \(record): label \(label) is not a class (0..<\(classCount))"
    case .countMismatch(let images, let imageCount, let labels, let labelCount):
      return "\(images) holds \(imageCount) images but \(labels) holds \(labelCount) labels"
    case .invalidSpec(let text, let reason):
      return
        "invalid data spec '\(text)': \(reason) (valid: \(DataSpec.forms.joined(separator: ", ")))"
    case .invalidNormalization(let reason):
      return "invalid normalisation: \(reason)"
    case .invalidFolder(let reason):
      return reason
    case .badImage(let error):
      return "\(error) (--skip-bad-images leaves such images out, counted)"
    case .notOnDisk(let spec):
      return "'\(spec)' is generated noise, not a dataset that can be loaded from files"
    }
  }
}
