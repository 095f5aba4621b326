import Foundation

/// Progress of long work on standard error, safe to advance from many threads.
///
/// On a terminal it redraws one line in place (bar, percentage, rate, ETA, detail) at
/// most every `redrawInterval` seconds; elsewhere (CI logs, files, the daemon's log) it
/// prints a plain line at most every `plainInterval` seconds and one at `finish()`, so a
/// long run adds a handful of lines rather than thousands. Log lines written while an
/// interactive bar is drawn will share its line; finish the bar before logging much.
public final class ProgressBar: @unchecked Sendable {
  /// How progress is shown.
  public enum Style: Sendable {
    /// Redraw a single line with `\r` (standard error is a terminal).
    case interactive
    /// Occasional plain lines (standard error is a pipe or file).
    case plain
    /// Nothing (`--quiet`).
    case silent
  }

  /// Interactive on a terminal, plain otherwise, silent when the log level hides info.
  public static var automaticStyle: Style {
    if Log.level > .info { return .silent }
    return Terminal.isStandardErrorInteractive ? .interactive : .plain
  }

  /// Seconds on a monotonic clock, the default time source.
  public static let monotonicSeconds: @Sendable () -> Double = {
    Double(DispatchTime.now().uptimeNanoseconds) / 1e9
  }

  private let lock = NSLock()
  private let total: Int?
  private let label: String
  /// What is counted ("steps"), shown after the counts and in the rate; nil shows bare numbers.
  private let unit: String?
  /// Units already done when the bar started (a resumed run): the rate and ETA count
  /// only what this process did.
  private let initial: Int
  private let style: Style
  private let clock: @Sendable () -> Double
  private let sink: @Sendable (String) -> Void
  private let width: Int
  private let interval: Double
  private let start: Double
  private var completed = 0
  private var detail = ""
  private var lastOutput: Double
  private var finished = false

  /// Creates a bar; `total` nil (or 0) shows counts and rate without percentage or ETA.
  /// `unit` names what is counted; `completed` is how much was done before (a resumed
  /// run); `startedAt` is when the counted work began, on `clock`'s scale, when that was
  /// before the bar was made (a bar made at the first report of a step whose time counts).
  /// `clock` and `sink` exist so tests can drive time and capture output.
  public init(
    total: Int?, label: String, unit: String? = nil, completed initial: Int = 0, startedAt: Double? = nil,
    style: Style = ProgressBar.automaticStyle,
    plainInterval: Double = 5, redrawInterval: Double = 0.1,
    clock: @escaping @Sendable () -> Double = ProgressBar.monotonicSeconds,
    sink: @escaping @Sendable (String) -> Void = Terminal.writeStandardError,
    width: Int? = nil
  ) {
    self.total = total.flatMap { $0 > 0 ? $0 : nil }
    self.label = label
    self.unit = unit
    self.initial = initial
    self.completed = initial
    self.style = style
    self.clock = clock
    self.sink = sink
    self.width = width ?? (style == .interactive ? Terminal.width() : 80)
    self.interval = style == .interactive ? redrawInterval : plainInterval
    self.start = startedAt ?? clock()
    self.lastOutput = clock()
  }

  /// Adds `count` completed units.
  public func advance(by count: Int = 1, detail: String? = nil) {
    lock.withLock { set(completed + count, detail) }
  }

  /// Sets the completed count (and optionally the detail text, e.g. "loss 1.234").
  public func update(completed: Int, detail: String? = nil) {
    lock.withLock { set(completed, detail) }
  }

  /// Prints the final state and ends the line; later calls do nothing.
  public func finish(detail: String? = nil) {
    lock.withLock {
      guard !finished else { return }
      finished = true
      if let detail { self.detail = detail }
      let now = clock()
      switch style {
      case .silent: break
      case .interactive: sink("\r" + interactiveLine(now) + "\u{1B}[K\n")
      case .plain: sink(finishLine(now) + "\n")
      }
    }
  }

  private func set(_ value: Int, _ newDetail: String?) {
    guard !finished else { return }
    completed = value
    if let newDetail { detail = newDetail }
    guard style != .silent else { return }
    let now = clock()
    guard now - lastOutput >= interval else { return }
    lastOutput = now
    if style == .interactive {
      sink("\r" + interactiveLine(now) + "\u{1B}[K")
    } else {
      sink(plainLine(now) + "\n")
    }
  }

  private func rate(_ now: Double) -> Double {
    let elapsed = now - start
    return elapsed > 0 ? Double(completed - initial) / elapsed : 0
  }

  private var counts: String {
    let numbers = total.map { "\(completed)/\($0)" } ?? "\(completed)"
    return unit.map { "\(numbers) \($0)" } ?? numbers
  }

  private func rateText(_ now: Double) -> String {
    let text = Self.rateText(rate(now))
    return unit.map { text.replacingOccurrences(of: "/s", with: " \($0)/s") } ?? text
  }

  private func percent() -> String? {
    total.map { String(format: "%3.0f%%", 100 * min(1, Double(completed) / Double($0))) }
  }

  private func eta(_ now: Double) -> String? {
    guard let total, completed > initial, completed < total else { return nil }
    return "ETA " + Self.clockTime(Double(total - completed) / rate(now))
  }

  /// "label [#####.....]  42% 1234/2900 56.3/s ETA 0:29 detail", cut to the width.
  private func interactiveLine(_ now: Double) -> String {
    var parts = [label]
    if let total {
      let cells = 24
      let filled = min(cells, cells * completed / total)
      parts.append("[" + String(repeating: "#", count: filled)
        + String(repeating: ".", count: cells - filled) + "]")
    }
    parts += [percent(), counts, rateText(now), eta(now), detail].compactMap { $0 }
    let line = parts.filter { !$0.isEmpty }.joined(separator: " ")
    return String(line.prefix(max(10, width - 1)))
  }

  /// "label: 1234/2900 (42%), 56.3/s, ETA 0:29, detail".
  private func plainLine(_ now: Double) -> String {
    var head = counts
    if let percent = percent() { head += " (\(percent.trimmingCharacters(in: .whitespaces)))" }
    let parts = [head, rateText(now), eta(now), detail].compactMap { $0 }
    return label + ": " + parts.filter { !$0.isEmpty }.joined(separator: ", ")
  }

  /// "label: finished 2900/2900 in 0:12 (236/s), detail".
  private func finishLine(_ now: Double) -> String {
    var line = "\(label): finished \(counts) in \(Self.clockTime(now - start))"
    line += " (\(rateText(now)))"
    return detail.isEmpty ? line : line + ", " + detail
  }

  static func rateText(_ rate: Double) -> String {
    let digits = rate >= 100 ? 0 : rate >= 10 ? 1 : 2
    return String(format: "%.\(digits)f/s", rate)
  }

  /// "0:29", "12:05", "1:02:03".
  static func clockTime(_ seconds: Double) -> String {
    guard seconds.isFinite else { return "?" }
    let total = Int(seconds.rounded())
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60)
    return h > 0 ? String(format: "%d:%02d:%02d", h, m, s) : String(format: "%d:%02d", m, s)
  }
}
