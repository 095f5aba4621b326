// Exit codes live beside the log: both are how any diswot process (command line, daemon,
// worker) reports to whoever started it, and the service library chooses its errors'
// codes without depending on the command-line module.

/// What a diswot process's exit status means; the same table holds for every executable.
///
/// Scripts and the daemon's supervisor branch on these codes (retry on `unavailable`,
/// give up on `usage` or `dataError`), so each code names a *kind* of failure rather
/// than a particular one.
public enum ExitCode: Int32, Sendable, CaseIterable {
  /// The command did what was asked.
  case success = 0
  /// A runtime failure that retrying with the same input will not fix by itself
  /// (an internal error, a failed computation, an I/O error not caused by the input).
  case failure = 1
  /// The command line was wrong: unknown option, missing or malformed value, bad subcommand.
  case usage = 2
  /// An input file or value was unusable: unreadable or malformed file, weights that do
  /// not fit the model, invalid JSON, a dataset with the wrong layout.
  case dataError = 3
  /// A service was unreachable or did not answer in time (daemon down, worker timeout);
  /// the same command may succeed later.
  case unavailable = 4
  /// The work was cancelled on request (for example a job cancelled through the daemon).
  case cancelled = 5
  /// The process was interrupted by SIGINT (Ctrl-C); 128 + 2 as shells report it.
  case interrupted = 130
}

/// An error that chooses the exit status of the process it ends.
public protocol ExitCodeProviding: Error {
  /// The status `runMain` exits with when this error escapes.
  var exitCode: ExitCode { get }
  /// A second line saying what to do, printed after the error when there is one.
  var hint: String? { get }
}

extension ExitCodeProviding {
  public var hint: String? { nil }
}
