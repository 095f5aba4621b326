import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

// Diagnostics for every diswot process — command line, daemon, workers — in a module of
// their own, so the service library logs without depending on the command-line module.

/// Severity of a log message, least severe first.
public enum LogLevel: Int, Comparable, Sendable {
  case debug, info, warning, error
  public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// Diagnostics on standard error; standard output is kept for results (text or JSON).
///
/// Info lines are printed as is; warnings and errors carry "program: warning:" /
/// "program: error:" prefixes like `runMain`'s final error; debug lines "debug:".
/// Long-running services set `timestamps` to prefix each line with an ISO 8601 time.
public enum Log {
  private final class State: @unchecked Sendable {
    let lock = NSLock()
    var level = LogLevel.info
    var timestamps = false
    var sink: @Sendable (String) -> Void = StandardError.write
  }
  private static let state = State()

  /// Messages below this level are dropped; `--quiet` raises it to `.warning`,
  /// `--verbose` lowers it to `.debug`.
  public static var level: LogLevel {
    get { state.lock.withLock { state.level } }
    set { state.lock.withLock { state.level = newValue } }
  }

  /// Whether lines start with an ISO 8601 timestamp (for daemons and workers).
  public static var timestamps: Bool {
    get { state.lock.withLock { state.timestamps } }
    set { state.lock.withLock { state.timestamps = newValue } }
  }

  /// Sets the level from `--quiet` / `--verbose`; verbose wins if both are given.
  public static func configure(quiet: Bool, verbose: Bool) {
    level = verbose ? .debug : quiet ? .warning : .info
  }

  /// Replaces where lines go (standard error by default); for tests.
  public static func setSink(_ sink: @escaping @Sendable (String) -> Void) {
    state.lock.withLock { state.sink = sink }
  }

  public static func debug(_ message: @autoclosure () -> String) { emit(.debug, message) }
  public static func info(_ message: @autoclosure () -> String) { emit(.info, message) }
  public static func warning(_ message: @autoclosure () -> String) { emit(.warning, message) }
  public static func error(_ message: @autoclosure () -> String) { emit(.error, message) }

  private static func emit(_ level: LogLevel, _ message: () -> String) {
    let (threshold, timestamps, sink) = state.lock.withLock {
      (state.level, state.timestamps, state.sink)
    }
    guard level >= threshold else { return }
    var line: String
    switch level {
    case .debug: line = "debug: " + message()
    case .info: line = message()
    case .warning: line = "\(ProgramName.current): warning: " + message()
    case .error: line = "\(ProgramName.current): error: " + message()
    }
    if timestamps {
      line = Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(Date()) + " " + line
    }
    sink(line + "\n")
  }
}

/// The name diagnostics carry.
public enum ProgramName {
  /// The basename of argv[0] ("diswot" for /usr/local/bin/diswot), or "diswot" if absent.
  public static var current: String {
    guard let first = CommandLine.arguments.first, !first.isEmpty else { return "diswot" }
    return first.split(separator: "/").last.map(String.init) ?? first
  }
}

/// Writes to standard error whole, retrying short writes; nothing is left to report a
/// failing standard error to, so it gives up silently then.
public enum StandardError {
  public static func write(_ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
      let written = bytes.withUnsafeBytes { Foundation.write(STDERR_FILENO, $0.baseAddress, $0.count) }
      if written < 0 {
        if errno == EINTR { continue }
        return
      }
      bytes = bytes.dropFirst(written)
    }
  }
}
