#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The file operations the dataset readers need, over POSIX calls so that errors carry the
/// system's own message: a file's size (to validate it before reading), its first bytes (so
/// that `limit` reads only what it keeps) and scattered ranges (so that a probe batch reads
/// only the records it draws).
enum BinaryFile {
  /// Size in bytes of the file at `path`.
  static func size(_ path: String) throws(DatasetError) -> Int {
    var info = stat()
    guard stat(path, &info) == 0 else {
      if errno == ENOENT { throw .missingFile(path) }
      throw lastError(path)
    }
    return Int(info.st_size)
  }

  /// The first `count` bytes of the file at `path`, which must be at least that long.
  static func readPrefix(_ path: String, count: Int) throws(DatasetError) -> [UInt8] {
    try readRanges(path, at: [0], count: count)
  }

  /// `count` bytes at each of `offsets` of the file at `path`, concatenated in that order:
  /// what reading a few records of a large file costs, instead of the whole file. Each range
  /// must lie inside the file.
  static func readRanges(_ path: String, at offsets: [Int], count: Int) throws(DatasetError) -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else {
      if errno == ENOENT { throw .missingFile(path) }
      throw lastError(path)
    }
    defer { close(descriptor) }
    let total = offsets.count * count
    guard total > 0 else { return [] }

    var failure: DatasetError?
    let bytes = [UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
      for offset in offsets {
        var done = 0
        while done < count {
          let received = pread(descriptor, buffer.baseAddress! + initialized + done, count - done, off_t(offset + done))
          if received > 0 {
            done += received
          } else if received < 0 && errno == EINTR {
            continue
          } else {
            failure =
              received < 0
              ? lastError(path) : .unreadable(file: path, reason: "the file shrank while being read")
            return
          }
        }
        initialized += count
      }
    }
    if let failure { throw failure }
    return bytes
  }

  private static func lastError(_ path: String) -> DatasetError {
    .unreadable(file: path, reason: String(cString: strerror(errno)))
  }
}

/// `directory/name`, without doubling a trailing slash.
func filePath(_ directory: String, _ name: String) -> String {
  directory.hasSuffix("/") ? directory + name : directory + "/" + name
}
