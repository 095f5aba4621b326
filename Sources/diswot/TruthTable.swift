import DiswotCommandLine
import DiswotJSON
import Foundation

/// Ground truth for `diswot rank` and `diswot quality`: architecture key → measured value
/// (accuracy). Three formats, told apart by the first data line:
/// - `KEY VALUE` lines (a key without spaces, a number);
/// - JSON lines with a string `key` and a number field (`field`);
/// - CSV with a header row (`arch,index,cifar10_test`): the first column is the key, the
///   value is the column named `field`, or the last column when no column has that name.
enum TruthTable {
  static func read(_ path: String, field: String) throws -> [String: Double] {
    let lines = try nonBlankLines(path)
    guard let first = lines.first else { throw CommandLineError.data("\(path) holds no ground truth") }
    if !first.1.hasPrefix("{"), !isKeyValue(first.1) { return try readCSV(path, lines: lines, field: field) }
    var truth: [String: Double] = [:]
    for (number, line) in lines {
      if line.hasPrefix("{") {
        guard let object = JSONValue.parse(line)?.objectValue, let key = object["key"]?.stringValue,
          let value = object[field]?.doubleValue, value.isFinite
        else { throw CommandLineError.data("\(path):\(number): needs a string 'key' and a finite number '\(field)'") }
        truth[key] = value
      } else {
        let parts = line.split(whereSeparator: \.isWhitespace)
        guard parts.count == 2, let value = Double(parts[1]), value.isFinite else {
          throw CommandLineError.data("\(path):\(number): expected 'KEY VALUE', got '\(line)'")
        }
        truth[String(parts[0])] = value
      }
    }
    return truth
  }

  private static func readCSV(_ path: String, lines: [(Int, String)], field: String) throws -> [String: Double] {
    let header = lines[0].1.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    guard header.count >= 2 else { throw CommandLineError.data("\(path):\(lines[0].0): a CSV header needs a key and a value column") }
    let column = header.firstIndex(of: field) ?? header.count - 1
    guard column > 0 else { throw CommandLineError.data("\(path): the value column '\(field)' is the key column") }
    var truth: [String: Double] = [:]
    for (number, line) in lines.dropFirst() {
      let cells = line.split(separator: ",", omittingEmptySubsequences: false)
      guard cells.count == header.count else {
        throw CommandLineError.data("\(path):\(number): \(cells.count) columns, the header has \(header.count)")
      }
      guard let value = Double(cells[column].trimmingCharacters(in: .whitespaces)), value.isFinite else {
        throw CommandLineError.data("\(path):\(number): '\(header[column])' is not a finite number: '\(cells[column])'")
      }
      truth[String(cells[0])] = value
    }
    return truth
  }

  /// Whether a line reads as `KEY VALUE` (keys may hold commas, so a comma alone does not make CSV).
  private static func isKeyValue(_ line: String) -> Bool {
    let parts = line.split(whereSeparator: \.isWhitespace)
    return parts.count == 2 && Double(parts[1]) != nil
  }

  /// Non-blank, non-comment lines with their 1-based numbers.
  static func nonBlankLines(_ path: String) throws -> [(Int, String)] {
    guard let data = FileManager.default.contents(atPath: path) else { throw CommandLineError.data("cannot read \(path)") }
    return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated()
      .map { ($0.offset + 1, $0.element.trimmingCharacters(in: .whitespaces)) }
      .filter { !$0.1.isEmpty && !$0.1.hasPrefix("#") }
  }
}
