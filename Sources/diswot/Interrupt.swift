#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DiswotCommandLine

/// Set by the first SIGINT; written only by the signal handler.
nonisolated(unsafe) private var interruptRequested: sig_atomic_t = 0

/// Ctrl-C for long local work that can stop cleanly (`diswot train`): the first SIGINT only
/// records the request, which the work polls at its next safe point (the trainer
/// checkpoints there); a second one exits at once with 130, since the user evidently does
/// not want to wait. Whatever is on disk then is still consistent, because checkpoints are
/// written atomically.
enum Interrupt {
  /// Installs the handler, unless SIGINT was ignored when the process started (as a shell
  /// does for background jobs): then it stays ignored, as the starter wanted. The handler
  /// may only use async-signal-safe calls: `write` and `_exit`, no allocation, no locks.
  static func install() {
    let previous = signal(SIGINT) { _ in
      if interruptRequested != 0 {
        let text: StaticString = "\ninterrupted again: exiting at once; the last checkpoint on disk is kept\n"
        _ = write(2, text.utf8Start, text.utf8CodeUnitCount)
        _exit(ExitCode.interrupted.rawValue)
      }
      interruptRequested = 1
      let text: StaticString = "\ninterrupt: stopping after the current step and writing a checkpoint (Ctrl-C again to exit at once)\n"
      _ = write(2, text.utf8Start, text.utf8CodeUnitCount)
    }
    if unsafeBitCast(previous, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) { signal(SIGINT, SIG_IGN) }
  }

  /// Whether SIGINT has arrived since `install()`.
  static var requested: Bool { interruptRequested != 0 }
}
