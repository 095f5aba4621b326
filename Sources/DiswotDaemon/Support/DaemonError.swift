import DiswotLog

/// Why the daemon or a worker cannot start or has to stop, with the exit code the process
/// ends with (a configuration error exits 2, anything else 1).
public struct DaemonError: Error, ExitCodeProviding, Equatable, CustomStringConvertible {
  public enum Kind: Sendable, Equatable {
    /// The configuration asks for something impossible (a flag without its companion).
    case configuration
    /// A runtime failure: the store, the state directory, a missing library feature.
    case failure
  }

  public var kind: Kind
  /// One line saying what went wrong.
  public var message: String
  /// What to do about it, when there is something to say.
  public var hint: String?

  public static func configuration(_ message: String, hint: String? = nil) -> Self {
    Self(kind: .configuration, message: message, hint: hint)
  }

  public static func failure(_ message: String, hint: String? = nil) -> Self {
    Self(kind: .failure, message: message, hint: hint)
  }

  public var description: String { message }

  public var exitCode: ExitCode { kind == .configuration ? .usage : .failure }
}
