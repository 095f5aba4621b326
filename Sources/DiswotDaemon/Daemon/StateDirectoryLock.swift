import DiswotLog
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps a second `diswotd` out of a state directory: two daemons on one store would hand
/// out the same candidates twice and overwrite each other's engine checkpoints.
///
/// An exclusive `flock` on `DIR/diswotd.lock`, held for the daemon's whole life. The kernel
/// releases it when the process ends however it ends (`kill -9` included), so a stale file
/// never blocks a restart. The file holds the owner's pid, so the refusal can name it.
final class StateDirectoryLock {
  static let fileName = "diswotd.lock"
  let path: String
  private let descriptor: Int32

  /// Takes the lock, or throws naming the daemon that holds it.
  init(directory: String) throws {
    path = directory + "/" + Self.fileName
    // O_CLOEXEC: a local worker must not inherit the descriptor, or the lock would outlive
    // the daemon for as long as the worker runs.
    let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
      throw DaemonError.failure("cannot open the state directory's lock file \(path): \(String(cString: strerror(errno)))")
    }
    guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
      let error = errno
      defer { close(fd) }
      guard error == EWOULDBLOCK else {
        throw DaemonError.failure("cannot lock \(path): \(String(cString: strerror(error)))")
      }
      let holder = Self.pid(in: fd).map { "pid \($0)" } ?? "pid not yet recorded"
      throw DaemonError.failure(
        "the state directory \(directory) is in use by another diswotd (\(holder), lock \(path))",
        hint: "Stop that daemon first, or give this one another --state-dir.")
    }
    let text = Array("\(getpid())\n".utf8)
    guard ftruncate(fd, 0) == 0, pwrite(fd, text, text.count, 0) == text.count else {
      let reason = String(cString: strerror(errno))
      close(fd)
      throw DaemonError.failure("cannot write the daemon's pid to \(path): \(reason)")
    }
    descriptor = fd
  }

  deinit { close(descriptor) }

  /// The pid the lock's holder wrote into the file.
  private static func pid(in fd: Int32) -> Int32? {
    var buffer = [UInt8](repeating: 0, count: 32)
    let count = pread(fd, &buffer, buffer.count, 0)
    guard count > 0 else { return nil }
    return Int32(String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
  }
}
