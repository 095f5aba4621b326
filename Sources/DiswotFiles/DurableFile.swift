#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A failed file operation, with the system's own message (`strerror`).
public struct DurableFileError: Error, CustomStringConvertible {
  public let reason: String
  /// The file (or a directory on its path) does not exist.
  public let isMissing: Bool

  public var description: String { reason }

  public static func lastError(_ action: String) -> DurableFileError {
    let code = errno
    return DurableFileError(reason: "\(action): \(String(cString: strerror(code)))", isMissing: code == ENOENT)
  }
}

/// Whole-file reads, crash-safe replacement and flushed appends over POSIX calls, for
/// training checkpoints and logs that must survive the process being killed at any moment.
public enum DurableFile {
  /// The complete contents of the file at `path`.
  public static func readAll(path: String) throws(DurableFileError) -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw .lastError("cannot open \(path)") }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress!, $0.count) }
      if count > 0 {
        bytes.append(contentsOf: chunk[0..<count])
      } else if count == 0 {
        return bytes
      } else if errno != EINTR {
        throw .lastError("cannot read \(path)")
      }
    }
  }

  /// Replaces the file at `path` with `bytes` so that a reader, or a run restarted after
  /// a crash, sees either the old file or the complete new one: the bytes go to a
  /// temporary file beside it, are flushed, and the temporary file is renamed over `path`
  /// (then the directory is flushed so the rename itself is durable).
  public static func writeAtomically(path: String, bytes: [UInt8]) throws(DurableFileError) {
    let temporary = "\(path).tmp-\(getpid())-\(UInt32.random(in: .min ... .max))"
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw .lastError("cannot create \(temporary)") }
    var failure: DurableFileError?
    do throws(DurableFileError) {
      try writeAll(descriptor, bytes, path: temporary)
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
    syncDirectory(of: path)
  }

  /// Writes every byte to an open descriptor (retrying short writes and EINTR).
  public static func writeAll(_ descriptor: Int32, _ bytes: [UInt8], path: String) throws(DurableFileError) {
    var written = 0
    while written < bytes.count {
      let count = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
      if count >= 0 {
        written += count
      } else if errno != EINTR {
        throw .lastError("cannot write \(path)")
      }
    }
  }

  /// Flushes the directory holding `path`, best effort (some file systems refuse).
  private static func syncDirectory(of path: String) {
    let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
    let descriptor = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return }
    _ = fsync(descriptor)
    close(descriptor)
  }
}
