#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// An error meant for the user: a message, the exit code it maps to, and an optional hint.
public struct CommandLineError: Error, ExitCodeProviding, Equatable, CustomStringConvertible {
  /// The status the process exits with.
  public var exitCode: ExitCode
  /// One line saying what went wrong, without the "program: error:" prefix.
  public var message: String
  /// An optional second line saying what to do (for example "See 'diswot rank --help'.").
  public var hint: String?

  /// Creates an error with an explicit exit code.
  public init(_ exitCode: ExitCode, _ message: String, hint: String? = nil) {
    self.exitCode = exitCode
    self.message = message
    self.hint = hint
  }

  public var description: String { message }

  /// A bad command line (exit 2).
  public static func usage(_ message: String, hint: String? = nil) -> Self {
    Self(.usage, message, hint: hint)
  }
  /// An unusable input file or value (exit 3).
  public static func data(_ message: String, hint: String? = nil) -> Self {
    Self(.dataError, message, hint: hint)
  }
  /// An unreachable or silent service (exit 4).
  public static func unavailable(_ message: String, hint: String? = nil) -> Self {
    Self(.unavailable, message, hint: hint)
  }
  /// Work cancelled on request (exit 5).
  public static func cancelled(_ message: String = "cancelled") -> Self {
    Self(.cancelled, message)
  }
  /// A runtime failure (exit 1).
  public static func failure(_ message: String, hint: String? = nil) -> Self {
    Self(.failure, message, hint: hint)
  }
}

extension ExitCode {
  /// The code's name in `--json` error documents: "usage", "data_error", ….
  public var name: String {
    switch self {
    case .success: "success"
    case .failure: "failure"
    case .usage: "usage"
    case .dataError: "data_error"
    case .unavailable: "unavailable"
    case .cancelled: "cancelled"
    case .interrupted: "interrupted"
    }
  }
}

/// Thrown by the parser when `--help` or `-h` was given: `runMain` prints `text` to
/// standard output and exits 0, so asking for help is never an error.
public struct HelpRequest: Error, ExitCodeProviding, Equatable {
  /// The complete help text of the resolved command.
  public var text: String
  public var exitCode: ExitCode { .success }
  public init(text: String) { self.text = text }
}

/// What ending a command with a given result looks like: exit code and stream contents.
public struct Outcome: Equatable, Sendable {
  /// The exit status.
  public var code: ExitCode
  /// Text for standard error (the "program: error: …" lines), if any.
  public var standardError: String?
  /// Text for standard output (help text), if any.
  public var standardOutput: String?

  public init(code: ExitCode, standardError: String? = nil, standardOutput: String? = nil) {
    self.code = code
    self.standardError = standardError
    self.standardOutput = standardOutput
  }

  /// The outcome of a thrown error: `ExitCodeProviding` errors choose their code,
  /// decoding errors are data errors, `CancellationError` is a cancellation, anything
  /// else is a failure (exit 1); Foundation's file errors are put in plain words.
  /// With `json` the error is also a JSON document on standard output (unless the
  /// command already printed its result there), so a `--json` consumer always gets one.
  public init(error: any Error, programName: String = ProgramName.current, json: Bool = false) {
    if let help = error as? HelpRequest {
      self.init(code: .success, standardOutput: help.text)
      return
    }
    let code: ExitCode
    var message: String
    var hint: String?
    switch error {
    case let error as CommandLineError:
      (code, message, hint) = (error.exitCode, error.message, error.hint)
    case let error as any ExitCodeProviding:
      (code, message, hint) = (error.exitCode, Self.describe(error), error.hint)
    case is CancellationError:
      (code, message) = (.cancelled, "cancelled")
    case let error as DecodingError:
      (code, message) = (.dataError, Self.describe(decoding: error))
    default:
      (code, message) = (.failure, FileErrors.describe(error) ?? Self.describe(error))
    }
    if message.isEmpty { message = "\(type(of: error))" }
    var text = "\(programName): error: \(message)\n"
    if let hint { text += "\(hint)\n" }
    let document = json && !JSONOutput.hasPrinted ? JSONOutput.errorDocument(code: code, message: message, hint: hint) : nil
    self.init(code: code, standardError: text, standardOutput: document)
  }

  private static func describe(_ error: any Error) -> String {
    if let error = error as? LocalizedError, let text = error.errorDescription { return text }
    return String(describing: error)
  }

  private static func describe(decoding error: DecodingError) -> String {
    func path(_ context: DecodingError.Context) -> String {
      let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }
      return keys.isEmpty ? "" : " at \(keys.joined())"
    }
    switch error {
    case .dataCorrupted(let c): return "invalid JSON\(path(c)): \(c.debugDescription)"
    case .keyNotFound(let key, let c): return "missing key '\(key.stringValue)'\(path(c))"
    case .typeMismatch(_, let c), .valueNotFound(_, let c):
      return "unexpected value\(path(c)): \(c.debugDescription)"
    @unknown default: return String(describing: error)
    }
  }
}

/// Runs `body` and reports how it ended, without touching the process: the testable
/// half of `runMain`.
public func outcome(
  of body: () throws -> Void, programName: String = ProgramName.current, jsonErrors: Bool = false
) -> Outcome {
  do {
    try body()
    return Outcome(code: .success)
  } catch {
    return Outcome(error: error, programName: programName, json: jsonErrors)
  }
}

/// Async twin of `outcome(of:)`, for executables whose main is async.
public func outcome(
  of body: () async throws -> Void, programName: String = ProgramName.current, jsonErrors: Bool = false
) async -> Outcome {
  do {
    try await body()
    return Outcome(code: .success)
  } catch {
    return Outcome(error: error, programName: programName, json: jsonErrors)
  }
}

/// Runs an executable's main body, prints any error as "program: error: message" on
/// standard error (help on standard output) and exits with the matching code. With
/// `jsonErrors` (the command line asked for `--json`) the error is also a JSON document
/// on standard output.
public func runMain(jsonErrors: Bool = false, _ body: () throws -> Void) -> Never {
  finish(outcome(of: body, jsonErrors: jsonErrors))
}

/// Async twin of `runMain`, for executables whose main is async.
public func runMain(_ body: () async throws -> Void) async -> Never {
  finish(await outcome(of: body))
}

/// Writes an outcome's streams and exits with its code.
public func finish(_ outcome: Outcome) -> Never {
  if let text = outcome.standardOutput { Terminal.writeStandardOutput(text) }
  if let text = outcome.standardError { Terminal.writeStandardError(text) }
  exit(outcome.code.rawValue)
}
