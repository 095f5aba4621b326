import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed libzmq call: the operation, its `errno` and libzmq's text for it (`zmq_strerror`).
public struct ZMQError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The failing call and its argument, e.g. `zmq_bind(tcp://127.0.0.1:5555)`.
  public var operation: String
  /// The error number (POSIX, or libzmq's own such as `ETERM`).
  public var errno: Int32
  /// `zmq_strerror(errno)`.
  public var message: String

  public init(operation: String, errno: Int32) {
    self.operation = operation
    self.errno = errno
    message = String(cString: zmq_strerror(errno))
  }

  /// The error of the libzmq call that just failed on this thread.
  static func last(_ operation: String) -> ZMQError {
    ZMQError(operation: operation, errno: zmq_errno())
  }

  public var description: String { "\(operation): \(message) (errno \(errno))" }

  /// Nothing to receive or no room to send within the timeout (`EAGAIN`).
  public var isTimeout: Bool { errno == EAGAIN }
  /// A signal interrupted a blocking call (`EINTR`).
  public var isInterrupted: Bool { errno == EINTR }
  /// The context was terminated or shut down (`ETERM`): every socket must now be closed.
  public var isTerminated: Bool { errno == ETERM }
  /// A ROUTER with `routerMandatory` was asked to send to an unknown peer (`EHOSTUNREACH`).
  public var isUnroutable: Bool { errno == EHOSTUNREACH }
}
