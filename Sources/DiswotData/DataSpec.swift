/// Which part of a dataset to load.
public enum Split: String, Sendable, CaseIterable {
  case train
  case test
}

/// Where the images for a run come from, as users write it on the command line:
/// `cifar10:DIR`, `cifar100:DIR`, `mnist:DIR` (a directory of the dataset's binary
/// files), `folder:DIR` (JPEG and PNG files in torchvision's ImageFolder layout, see
/// `ImageFolder`), or `gaussian` — Gaussian-noise probe images, which are generated rather than
/// read, so that data-free scoring runs without any dataset on disk.
public enum DataSpec: Sendable, Equatable, CustomStringConvertible {
  case cifar10(directory: String)
  case cifar100(directory: String)
  case mnist(directory: String)
  case folder(directory: String)
  case gaussian

  /// The accepted forms, for help texts and error messages.
  public static let forms = ["cifar10:DIR", "cifar100:DIR", "mnist:DIR", "folder:DIR", "gaussian"]

  /// Parses `kind:DIR` or `gaussian`. The kind is case-insensitive; the directory is
  /// everything after the first colon, so it may itself contain colons.
  public init(parsing text: String) throws(DatasetError) {
    let colon = text.firstIndex(of: ":")
    let kind = text[..<(colon ?? text.endIndex)]
    let directory = colon.map { String(text[text.index(after: $0)...]) }

    if kind.lowercased() == "gaussian" {
      guard directory == nil else {
        throw .invalidSpec(text, reason: "gaussian takes no directory")
      }
      self = .gaussian
      return
    }
    let make: (String) -> DataSpec
    switch kind.lowercased() {
    case "cifar10": make = DataSpec.cifar10
    case "cifar100": make = DataSpec.cifar100
    case "mnist": make = DataSpec.mnist
    case "folder": make = DataSpec.folder
    default: throw .invalidSpec(text, reason: "unknown kind '\(kind)'")
    }
    guard let directory, !directory.isEmpty else {
      throw .invalidSpec(text, reason: "\(kind) needs a directory, as in \(kind):DIR")
    }
    self = make(directory)
  }

  /// The spec as it is written, e.g. `cifar10:data/cifar-10-batches-bin`.
  public var description: String {
    switch self {
    case .cifar10(let directory): return "cifar10:\(directory)"
    case .cifar100(let directory): return "cifar100:\(directory)"
    case .mnist(let directory): return "mnist:\(directory)"
    case .folder(let directory): return "folder:\(directory)"
    case .gaussian: return "gaussian"
    }
  }

  /// The dataset's conventional normalisation, for when the weights file records none:
  /// ImageNet's statistics for image folders (torchvision's convention for photographs);
  /// nil for Gaussian noise, which is already standardised.
  public var defaultNormalization: Normalization? {
    switch self {
    case .cifar10: return .cifar10
    case .cifar100: return .cifar100
    case .mnist: return .mnist
    case .folder: return .imagenet
    case .gaussian: return nil
    }
  }

  /// Loads `split` (CIFAR-100 with fine labels) of a binary dataset whole; Gaussian noise
  /// has no files and throws `notOnDisk`, an image folder (whose images have no one size)
  /// is read through `DataSplit`. With `limit` only the first `limit` images are read.
  public func load(_ split: Split, limit: Int? = nil) throws(DatasetError) -> Dataset {
    switch self {
    case .cifar10(let directory):
      return try CIFAR10.load(directory: directory, split: split, limit: limit)
    case .cifar100(let directory):
      return try CIFAR100.load(directory: directory, split: split, limit: limit)
    case .mnist(let directory):
      return try MNIST.load(directory: directory, split: split, limit: limit)
    case .folder: throw .invalidFolder("\(self) is read in batches at a network's input size, not whole")
    case .gaussian: throw .notOnDisk(self)
    }
  }

  /// The number of images in `split`. The files are checked (present, whole records) but
  /// not read, so drawing a sample costs only the records drawn.
  public func count(_ split: Split) throws(DatasetError) -> Int {
    switch self {
    case .cifar10(let directory): return try CIFAR10.count(directory: directory, split: split)
    case .cifar100(let directory): return try CIFAR100.count(directory: directory, split: split)
    case .mnist(let directory): return try MNIST.count(directory: directory, split: split)
    case .folder(let directory): return try ImageFolder(root: directory, split: split).count
    case .gaussian: throw .notOnDisk(self)
    }
  }

  /// The images at `indices` of `split` (each in `0..<count(split)`), in that order, reading
  /// only those records: a 64-image probe batch reads 64 records, not CIFAR-10's 50 000.
  public func load(_ split: Split, records indices: [Int]) throws(DatasetError) -> Dataset {
    switch self {
    case .cifar10(let directory):
      return try CIFAR10.load(directory: directory, split: split, records: indices)
    case .cifar100(let directory):
      return try CIFAR100.load(directory: directory, split: split, records: indices)
    case .mnist(let directory):
      return try MNIST.load(directory: directory, split: split, records: indices)
    case .folder: throw .invalidFolder("\(self) is read in batches at a network's input size, not whole")
    case .gaussian: throw .notOnDisk(self)
    }
  }
}
