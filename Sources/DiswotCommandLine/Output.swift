import DiswotJSON
import Foundation

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
    var sink: @Sendable (String) -> Void = Terminal.writeStandardError
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

  /// Sets the level from the parsed `quiet` / `verbose` flags, where the command declares them.
  public static func configure(from arguments: ParsedArguments) {
    func has(_ name: String) -> Bool { arguments.options[name] != nil && arguments.flag(name) }
    configure(quiet: has("quiet"), verbose: has("verbose"))
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

/// JSON for `--json` and `--jsonl`, written by `JSONText` like every JSON diswot writes:
/// sorted keys, ISO 8601 dates, and non-finite numbers as `null` (see `JSONText`).
public enum JSONOutput {
  /// The JSON text of a value, without a trailing newline.
  public static func string<T: Encodable>(_ value: T, pretty: Bool = true) throws -> String {
    try JSONText.string(value, pretty: pretty)
  }

  /// Prints a value as one pretty JSON document on standard output.
  public static func print<T: Encodable>(_ value: T) throws {
    Terminal.writeStandardOutput(try string(value) + "\n")
  }
}

/// Writes JSON Lines (one compact object per line) to standard output or a file,
/// flushing each line so a consumer can follow the stream; safe to share across threads.
public final class JSONLinesWriter: @unchecked Sendable {
  private let lock = NSLock()
  private let sink: @Sendable (String) -> Void
  private let file: FileHandle?

  /// Writes to `path`, truncating it (or appending if `append`); nil or "-" means
  /// standard output. A file that cannot be opened is a data error.
  public convenience init(path: String?, append: Bool = false) throws {
    guard let path, path != "-" else {
      self.init(sink: Terminal.writeStandardOutput)
      return
    }
    if !append || !FileManager.default.fileExists(atPath: path) {
      guard FileManager.default.createFile(atPath: path, contents: nil) else {
        throw CommandLineError.data("cannot create \(path)")
      }
    }
    guard let handle = FileHandle(forWritingAtPath: path) else {
      throw CommandLineError.data("cannot open \(path) for writing")
    }
    if append { handle.seekToEndOfFile() }
    self.init(file: handle)
  }

  /// Writes each line to `sink`; for tests and custom destinations.
  public init(sink: @escaping @Sendable (String) -> Void) {
    self.sink = sink
    self.file = nil
  }

  private init(file: FileHandle) {
    self.file = file
    self.sink = { line in file.write(Data(line.utf8)) }
  }

  /// Appends one value as a line.
  public func write<T: Encodable>(_ value: T) throws {
    let line = try JSONText.string(value) + "\n"
    lock.withLock { sink(line) }
  }

  /// Closes the file, if any; later writes to a file are lost.
  public func close() {
    lock.withLock { try? file?.close() }
  }
}
