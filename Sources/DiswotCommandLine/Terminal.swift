#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Facts about the terminal and raw writes to the standard streams.
public enum Terminal {
  /// Whether standard error is an interactive terminal that can redraw a line in place
  /// (a TTY whose TERM is not "dumb"); decides between progress bars and plain lines.
  public static var isStandardErrorInteractive: Bool {
    isatty(STDERR_FILENO) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb"
  }

  /// Whether standard output is a terminal (for choosing human vs. piped formatting).
  public static var isStandardOutputTerminal: Bool { isatty(STDOUT_FILENO) == 1 }

  /// Columns of the terminal on `fd`; else $COLUMNS; else 80.
  public static func width(of fd: Int32 = STDERR_FILENO) -> Int {
    var size = winsize()
    let status = withUnsafeMutablePointer(to: &size) { ioctl(fd, UInt(TIOCGWINSZ), $0) }
    if status == 0, size.ws_col > 0 { return Int(size.ws_col) }
    if let columns = ProcessInfo.processInfo.environment["COLUMNS"].flatMap({ Int($0) }),
      columns > 0
    {
      return columns
    }
    return 80
  }

  /// Writes to standard error unbuffered, so messages appear in order with progress lines.
  public static func writeStandardError(_ text: String) { StandardError.write(text) }

  /// Writes to standard output through stdio (the buffer `print` uses) and flushes, so
  /// output interleaves correctly with `print` and reaches a pipe line by line.
  public static func writeStandardOutput(_ text: String) {
    print(text, terminator: "")
    fflush(nil)
  }
}
