#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The last SIGINT or SIGTERM received (0: none). Written only by the signal handler.
nonisolated(unsafe) private var caughtSignal: Int32 = 0

/// SIGINT/SIGTERM as a flag the event loops poll: the handler only records the signal, and
/// the loop (which wakes at least every tick) shuts down cleanly from its own thread.
public enum ShutdownSignal {
  /// Installs the handlers, and ignores SIGPIPE (a vanished peer is an error code, not death).
  public static func install() {
    signal(SIGPIPE, SIG_IGN)
    signal(SIGINT) { caughtSignal = $0 }
    signal(SIGTERM) { caughtSignal = $0 }
  }

  /// The signal received, or 0.
  public static var received: Int32 { caughtSignal }

  /// Forgets a received signal (tests that run loops in-process).
  public static func reset() { caughtSignal = 0 }
}
