import DiswotJSON
import Foundation

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
