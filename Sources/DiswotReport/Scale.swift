import Foundation

/// Maps data values to the unit interval along one axis, and says where its ticks go.
/// Linear scales snap their domain outwards to "nice" numbers (1, 2 or 5 × 10ᵏ steps) so the
/// ends are ticks; log scales (base 10) snap to whole decades and are chosen for values
/// that span at least one (MACs and parameter counts across a search space).
public enum Scale: Sendable, Equatable {
  case linear(lower: Double, upper: Double, step: Double)
  case log(lower: Double, upper: Double)

  /// A linear scale over `values`' range (non-finite ones ignored), with about `ticks`
  /// ticks; a single value gets a range around it, no value the range 0…1.
  public static func linear(covering values: [Double], ticks: Int = 6, includingZero: Bool = false) -> Scale {
    var finite = values.filter(\.isFinite)
    if includingZero { finite.append(0) }
    guard var lo = finite.min(), var hi = finite.max() else { return .linear(lower: 0, upper: 1, step: 0.2) }
    if lo == hi {
      let pad = lo == 0 ? 1 : abs(lo) * 0.1
      lo -= pad
      hi += pad
    }
    let step = niceStep((hi - lo) / Double(max(1, ticks - 1)))
    return .linear(lower: (lo / step).rounded(.down) * step, upper: (hi / step).rounded(.up) * step, step: step)
  }

  /// A log scale over the positive finite `values`, whole decades; nil when there are none.
  public static func log(covering values: [Double]) -> Scale? {
    let positive = values.filter { $0.isFinite && $0 > 0 }
    guard let lo = positive.min(), let hi = positive.max() else { return nil }
    var a = log10(lo).rounded(.down), b = log10(hi).rounded(.up)
    if a == b { b += 1 }
    if b - a > 300 { a = b - 300 }
    return .log(lower: pow(10, a), upper: pow(10, b))
  }

  /// Log when the positive values span at least a decade (`decades` of them) and none is
  /// zero or negative, linear otherwise: what the reader expects for costs and counts.
  public static func automatic(covering values: [Double], decades: Double = 1) -> Scale {
    let finite = values.filter(\.isFinite)
    if let lo = finite.min(), let hi = finite.max(), lo > 0, log10(hi / lo) >= decades, let scale = log(covering: finite) {
      return scale
    }
    return linear(covering: finite)
  }

  public var isLog: Bool { if case .log = self { true } else { false } }

  /// The value's position in [0, 1] (outside for values outside the domain); nil for
  /// values the scale cannot place (non-finite, or ≤ 0 on a log scale).
  public func position(_ value: Double) -> Double? {
    guard value.isFinite else { return nil }
    switch self {
    case .linear(let lo, let hi, _): return (value - lo) / (hi - lo)
    case .log(let lo, let hi):
      guard value > 0 else { return nil }
      return (log10(value) - log10(lo)) / (log10(hi) - log10(lo))
    }
  }

  /// Tick values, ascending, all inside the domain. A log scale ticks every decade (every
  /// few decades over more than 8), with 2 and 5 between them over at most two decades.
  public var ticks: [Double] {
    switch self {
    case .linear(let lo, let hi, let step):
      let n = Int(((hi - lo) / step).rounded())
      // Multiplying from the lower end (not adding) keeps 0.1 + 0.2 noise out of labels.
      return (0...max(0, n)).map { i in
        let v = lo + Double(i) * step
        return abs(v) < step * 1e-9 ? 0 : v
      }
    case .log(let lo, let hi):
      let a = Int(log10(lo).rounded()), b = Int(log10(hi).rounded())
      let every = max(1, Int((Double(b - a) / 8).rounded(.up)))
      var ticks: [Double] = []
      for e in stride(from: a, through: b, by: every) {
        ticks.append(pow(10, Double(e)))
        if b - a <= 2, e < b { ticks += [2 * pow(10, Double(e)), 5 * pow(10, Double(e))] }
      }
      return ticks
    }
  }

  /// A tick's label: SI suffixes (k, M, G, T) from 10⁴ on, as few decimals as the step
  /// needs below, scientific for tiny values.
  public func label(_ value: Double) -> String {
    switch self {
    case .linear(_, _, let step): return formatTick(value, step: step)
    case .log: return formatTick(value, step: value)
    }
  }
}

/// 1, 2 or 5 × 10ᵏ, the nearest at or above `raw` (the spacing people read fastest).
public func niceStep(_ raw: Double) -> Double {
  guard raw.isFinite, raw > 0 else { return 1 }
  let magnitude = pow(10, log10(raw).rounded(.down))
  let fraction = raw / magnitude
  let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
  return nice * magnitude
}

/// A tick value written with the precision its spacing `step` calls for.
public func formatTick(_ value: Double, step: Double) -> String {
  if value == 0 { return "0" }
  let magnitude = abs(value)
  // Past the last prefix (synflow reaches 10³⁰), scientific notation stays short.
  if magnitude >= 1e15 { return String(format: "%.3g", value).replacingOccurrences(of: "e+", with: "e") }
  let suffixes: [(Double, String)] = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
  if magnitude >= 1e4 {
    for (unit, suffix) in suffixes where magnitude >= unit {
      return trimmed(value / unit, decimals: decimals(step / unit)) + suffix
    }
  }
  if magnitude < 1e-3 { return String(format: "%.0e", value).replacingOccurrences(of: "e-0", with: "e-") }
  return trimmed(value, decimals: decimals(step))
}

/// Decimals that show a step of this size (0 for steps of 1 and above).
private func decimals(_ step: Double) -> Int {
  guard step.isFinite, step > 0 else { return 0 }
  return max(0, min(9, Int((-log10(step)).rounded(.up))))
}

private func trimmed(_ value: Double, decimals: Int) -> String {
  var text = String(format: "%.\(decimals)f", value)
  if text.contains(".") {
    while text.hasSuffix("0") { text.removeLast() }
    if text.hasSuffix(".") { text.removeLast() }
  }
  return text == "-0" ? "0" : text
}

/// A number for tables and titles: 4 significant digits, SI suffixes for large counts.
public func formatNumber(_ value: Double) -> String {
  guard value.isFinite else { return value.isNaN ? "n/a" : (value > 0 ? "∞" : "−∞") }
  if abs(value) >= 1e4 || value == value.rounded() && abs(value) >= 1 { return formatCount(value) }
  return String(format: "%.4g", value)
}

/// Counts (params, MACs): 12,345 → "12.3k", 40553472 → "40.6M".
public func formatCount(_ value: Double) -> String {
  let magnitude = abs(value)
  if magnitude >= 1e15 { return String(format: "%.3g", value) }
  for (unit, suffix) in [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")] where magnitude >= unit {
    return String(format: "%.3g", value / unit) + suffix
  }
  return String(format: "%.4g", value)
}
