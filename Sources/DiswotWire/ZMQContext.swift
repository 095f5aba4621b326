import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A ZeroMQ context: the I/O threads and the `inproc://` namespace shared by its sockets.
///
/// Every `ZMQSocket` keeps its context alive, so the context is terminated (`zmq_ctx_term`)
/// only when the last of its sockets has been closed and released; termination then waits
/// for each socket's linger period, which this module sets to 0 unless asked otherwise.
///
/// `@unchecked Sendable`: libzmq documents contexts as thread-safe and this class has no
/// mutable state of its own, so one context may be shared by sockets on several threads
/// (the daemon's socket thread and its ZAP handler). Sockets are *not* thread-safe.
public final class ZMQContext: @unchecked Sendable {
  /// The `void *` returned by `zmq_ctx_new`.
  let handle: UnsafeMutableRawPointer

  /// Creates a context with `ioThreads` background I/O threads (one is enough below
  /// about a gigabyte per second).
  public init(ioThreads: Int = 1) throws(ZMQError) {
    guard let handle = zmq_ctx_new() else { throw .last("zmq_ctx_new") }
    if ioThreads != 1, zmq_ctx_set(handle, ZMQ_IO_THREADS, Int32(clamping: ioThreads)) != 0 {
      let error = ZMQError.last("zmq_ctx_set(ZMQ_IO_THREADS)")
      zmq_ctx_term(handle)
      throw error
    }
    self.handle = handle
  }

  deinit {
    // No socket can be open here (each holds a strong reference), so this returns at once.
    while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
  }

  /// libzmq's version, e.g. (4, 3, 4).
  public static var version: (major: Int, minor: Int, patch: Int) {
    var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
    zmq_version(&major, &minor, &patch)
    return (Int(major), Int(minor), Int(patch))
  }

  /// Whether libzmq was built with a capability (`"curve"`, `"ipc"`, `"draft"`, …).
  public static func has(_ capability: String) -> Bool { zmq_has(capability) != 0 }
}
