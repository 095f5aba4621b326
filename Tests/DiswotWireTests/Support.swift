import Foundation
import XCTest

@testable import DiswotWire

/// SplitMix64: a tiny seeded generator so the fuzz cases are the same on every run.
struct SplitMix64: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// A value handed between threads under a lock, with a wait for the first value.
final class Mailbox<T: Sendable>: @unchecked Sendable {
  private let lock = NSLock()
  private let arrived = DispatchSemaphore(value: 0)
  private var items: [T] = []

  func put(_ value: T) {
    lock.withLock { items.append(value) }
    arrived.signal()
  }

  /// The next value, waiting up to `seconds`.
  func take(seconds: Double = 3) -> T? {
    guard arrived.wait(timeout: .now() + seconds) == .success else { return nil }
    return lock.withLock { items.removeFirst() }
  }

  var all: [T] { lock.withLock { items } }
}

/// A thread running `body`, joined with a time limit (a test must never hang).
final class Background: @unchecked Sendable {
  private let done = DispatchSemaphore(value: 0)

  init(_ body: @escaping @Sendable () -> Void) {
    let done = self.done
    let thread = Thread {
      body()
      done.signal()
    }
    thread.start()
  }

  func join(seconds: Double = 5) -> Bool { done.wait(timeout: .now() + seconds) == .success }
}

/// A loopback TCP endpoint with a port nothing listens on (bound once, then released).
func unusedLoopbackEndpoint(_ context: ZMQContext) throws -> String {
  let socket = try ZMQSocket(context, .router)
  try socket.bind("tcp://127.0.0.1:*")
  let endpoint = try socket.lastEndpoint()
  socket.close()
  return endpoint
}

/// `[UInt8]` of a string.
func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// A non-Sendable value moved into exactly one other thread (the test guarantees it is
/// not used concurrently).
final class HandOver<T>: @unchecked Sendable {
  let value: T
  init(_ value: T) { self.value = value }
}
