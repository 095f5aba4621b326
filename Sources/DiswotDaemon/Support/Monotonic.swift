import Foundation

/// Milliseconds on a monotonic clock (never jumps with the wall clock): every timer of the
/// daemon and the worker (heartbeats, liveness, back-off) is measured with it.
public enum Monotonic {
  public static func milliseconds() -> Int {
    Int(DispatchTime.now().uptimeNanoseconds / 1_000_000)
  }
}

/// An ISO 8601 timestamp for status replies (`2026-01-01T12:00:00.123Z`).
func iso8601(_ date: Date) -> String {
  Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(date)
}
