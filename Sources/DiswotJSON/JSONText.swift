import Foundation

/// JSON text of `Encodable` values: the one encoder behind every JSON diswot writes
/// (`--json` and `--jsonl` output, daemon replies, events and worker messages, the store's
/// JSON columns, run directories' `spec.json`, `checkpoint.json` and `metrics.jsonl`).
///
/// Conventions: keys sorted (output is byte-stable, diffable and testable), slashes not
/// escaped, floats in Swift's shortest round-tripping form, dates in ISO 8601.
///
/// **Non-finite numbers are written as `null`.** JSON (RFC 8259) has no NaN or infinity,
/// and a NaN is never a result diswot reports as such: a candidate whose objective is not
/// finite is unscorable, a training loss that is not finite stops the run. Where a
/// non-finite value can still appear (a secondary proxy of a scored candidate, a
/// statistic of an empty sample), `null` says "no number" to every JSON reader without
/// extensions, instead of a string a reader must know to convert or a failed document.
/// `JSONValue` follows the same rule (`.double(.nan)` is written as `null`).
public enum JSONText {
  /// The JSON of `value`; `pretty` indents it (for `--json`), otherwise it is compact.
  public static func data<T: Encodable>(_ value: T, pretty: Bool = false) throws -> Data {
    Data(try string(value, pretty: pretty).utf8)
  }

  /// The JSON of `value` as text, without a trailing newline.
  public static func string<T: Encodable>(_ value: T, pretty: Bool = false) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting =
      pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    // Foundation can only throw on, or stringify, non-finite numbers; a marker string it
    // writes escaped (`"\u0001…"`), which no encoded Swift string can be mistaken for
    // unless it is exactly that string, is then replaced by `null`.
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
      positiveInfinity: marker, negativeInfinity: marker, nan: marker)
    let text = String(decoding: try encoder.encode(value), as: UTF8.self)
    return text.contains(encodedMarker) ? text.replacingOccurrences(of: encodedMarker, with: "null") : text
  }

  private static let marker = "\u{1}diswot-non-finite"
  /// `marker` as the encoder writes it, quotes included.
  private static let encodedMarker = #""\u0001diswot-non-finite""#
}
