#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A failed file operation, described with the system's own message (`strerror`), so
/// that users read "No such file or directory" rather than a Foundation error domain.
struct FileIOError: Error {
  let reason: String

  /// The error for the current `errno`, prefixed with what was being attempted.
  static func lastError(_ action: String) -> FileIOError {
    FileIOError(reason: "\(action): \(String(cString: strerror(errno)))")
  }
}

/// Whole-file reads and crash-safe writes over POSIX calls.
enum FileIO {
  /// The complete contents of the file at `path`, read straight into one array.
  static func readAll(path: String) throws(FileIOError) -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw .lastError("cannot open") }
    defer { close(descriptor) }
    var info = stat()
    guard fstat(descriptor, &info) == 0 else { throw .lastError("cannot stat") }
    let size = Int(info.st_size)
    guard size > 0 else { return [] }

    var failure: FileIOError?
    let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
      while initialized < size {
        let count = read(descriptor, buffer.baseAddress! + initialized, size - initialized)
        if count > 0 {
          initialized += count
        } else if count < 0 && errno == EINTR {
          continue
        } else {
          failure =
            count < 0
            ? .lastError("cannot read") : FileIOError(reason: "the file shrank while being read")
          return
        }
      }
    }
    if let failure { throw failure }
    return bytes
  }

  /// Replaces the file at `path` with `bytes` so that readers see either the old file or
  /// the complete new one: write a temporary file beside it, flush it to disk, rename it.
  static func writeAtomically(path: String, bytes: [UInt8]) throws(FileIOError) {
    let temporary = "\(path).tmp-\(getpid())-\(UInt32.random(in: .min ... .max))"
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw .lastError("cannot create \(temporary)") }
    var failure: FileIOError?
    do throws(FileIOError) {
      try writeAll(descriptor, bytes)
      guard fsync(descriptor) == 0 else { throw .lastError("cannot flush \(temporary)") }
    } catch {
      failure = error
    }
    if close(descriptor) != 0, failure == nil {
      failure = .lastError("cannot close \(temporary)")
    }
    if failure == nil, rename(temporary, path) != 0 {
      failure = .lastError("cannot rename \(temporary) to \(path)")
    }
    if let failure {
      unlink(temporary)
      throw failure
    }
  }

  private static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) throws(FileIOError) {
    var written = 0
    while written < bytes.count {
      let count = bytes.withUnsafeBytes {
        write(descriptor, $0.baseAddress! + written, $0.count - written)
      }
      if count >= 0 {
        written += count
      } else if errno != EINTR {
        throw .lastError("cannot write")
      }
    }
  }
}
