extension ImageFolder {
  /// A directory of images without labels, for pseudo-label distillation (`diswot train
  /// --unlabelled DIR`): every image file under `directory`, found recursively in the order
  /// the labelled layout uses (`images(under:)`: sorted folders, then sorted names), so any
  /// sub-folders — class folders included — are simply more images. There is no class to
  /// read off a folder: the `classCount` classes are named by their numbers and every
  /// label is 0, a placeholder until the teachers' labels replace it (`relabelled`). An
  /// empty directory is an error naming it, as is one that is not a directory.
  public init(unlabelled directory: String, classCount: Int) throws(DatasetError) {
    precondition(classCount >= 1, "an unlabelled folder needs at least one class to be labelled with")
    guard Self.isDirectory(directory) else { throw .invalidFolder("unlabelled image directory \(directory) is not a directory") }
    let paths = Self.images(under: directory)
    guard !paths.isEmpty else {
      throw .invalidFolder("unlabelled image directory \(directory) holds no image files (\(Self.imageExtensions.joined(separator: " ")))")
    }
    self.init(directory: directory, classNames: (0..<classCount).map(String.init), paths: paths, labels: Array(repeating: 0, count: paths.count))
  }

  /// The images at `records`, in that order, with `labels` in place of their own: the
  /// kept images of a pseudo-labelled split, streamed as any folder is.
  public func relabelled(_ records: [Int], labels: [Int]) -> ImageFolder {
    precondition(records.count == labels.count, "one label per record")
    precondition(labels.allSatisfy { (0..<classCount).contains($0) }, "labels outside 0..<\(classCount)")
    return ImageFolder(directory: directory, classNames: classNames, paths: records.map { paths[$0] }, labels: labels)
  }
}

extension ImageFolder {
  /// The folder as given: paths and labels already found.
  init(directory: String, classNames: [String], paths: [String], labels: [Int]) {
    self.directory = directory
    self.classNames = classNames
    self.paths = paths
    self.labels = labels
  }
}
