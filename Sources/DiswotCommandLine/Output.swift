#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
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
    printedLock.withLock { printed = true }
  }

  /// Whether a document was printed: a command that fails after printing its result
  /// (a search that ended `failed`, reported in the result) adds no error document, so
  /// standard output holds exactly one.
  public static var hasPrinted: Bool { printedLock.withLock { printed } }
  private static let printedLock = NSLock()
  nonisolated(unsafe) private static var printed = false

  /// Whether `--json` is among the arguments (before `--`): decided from the raw words
  /// so that a command line the parser refuses gets its error as JSON too.
  public static func isRequested<C: Collection<String>>(by arguments: C) -> Bool {
    arguments.prefix { $0 != "--" }.contains("--json")
  }

  /// The error document of `--json`:
  /// `{"error": {"code": "usage", "exit_code": 2, "message": "…", "hint": "…"}}`.
  public static func errorDocument(code: ExitCode, message: String, hint: String?) -> String {
    var error: [String: JSONValue] = [
      "code": .string(code.name), "exit_code": .int(Int(code.rawValue)), "message": .string(message),
    ]
    if let hint { error["hint"] = .string(hint) }
    return ((try? string(JSONValue.object(["error": .object(error)]))) ?? "{}") + "\n"
  }
}

/// Writes JSON Lines (one compact object per line) to standard output or a file,
/// flushing each line so a consumer can follow the stream; safe to share across threads.
public final class JSONLinesWriter: @unchecked Sendable {
  private let lock = NSLock()
  private let sink: @Sendable (String) -> Void
  private let file: FileHandle?

  /// Writes to `path`, truncating it (or appending if `append`); nil or "-" means
  /// standard output. A file that cannot be opened is a failure (exit 1) saying why:
  /// "cannot write PATH: permission denied".
  public convenience init(path: String?, append: Bool = false) throws {
    guard let path, path != "-" else {
      self.init(sink: Terminal.writeStandardOutput)
      return
    }
    let descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0o644)
    guard descriptor >= 0 else {
      throw CommandLineError.failure("cannot write \(path): \(FileErrors.systemMessage(errno))")
    }
    self.init(file: FileHandle(fileDescriptor: descriptor, closeOnDealloc: true))
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
