/// A plain-text table for human output: a header, a rule, aligned columns.
///
/// Columns whose cells are all numbers (or empty) are right-aligned so digits line up;
/// others are left-aligned. Widths count characters, which is right for the ASCII this
/// tool prints.
public struct Table: Sendable {
  /// How a column's cells are aligned.
  public enum Alignment: Sendable {
    case left, right
    /// Right if every non-empty cell is a number (optionally with a trailing %), else left.
    case automatic
  }

  public var headers: [String]
  public var alignments: [Alignment]
  public private(set) var rows: [[String]] = []

  /// Creates an empty table; `alignments` defaults to automatic for every column.
  public init(headers: [String], alignments: [Alignment]? = nil) {
    self.headers = headers
    self.alignments = alignments ?? Array(repeating: .automatic, count: headers.count)
  }

  /// Appends a row; missing cells are empty, extra cells are dropped.
  public mutating func append(_ row: [String]) {
    rows.append((0..<headers.count).map { $0 < row.count ? row[$0] : "" })
  }

  /// The table as lines joined by newlines, with a trailing newline and no trailing spaces.
  public func render() -> String {
    let columns = headers.indices
    let widths = columns.map { c in rows.reduce(headers[c].count) { max($0, $1[c].count) } }
    let right = columns.map { c -> Bool in
      switch c < alignments.count ? alignments[c] : .automatic {
      case .left: return false
      case .right: return true
      case .automatic:
        let cells = rows.map { $0[c] }.filter { !$0.isEmpty }
        return !cells.isEmpty && cells.allSatisfy(Self.isNumber)
      }
    }
    func line(_ cells: [String]) -> String {
      let padded = columns.map { c -> String in
        let pad = String(repeating: " ", count: widths[c] - cells[c].count)
        return right[c] ? pad + cells[c] : cells[c] + pad
      }
      return String(padded.joined(separator: "  ").reversed().drop { $0 == " " }.reversed())
    }
    var lines = [line(headers), line(widths.map { String(repeating: "-", count: $0) })]
    lines += rows.map(line)
    return lines.joined(separator: "\n") + "\n"
  }

  static func isNumber(_ cell: String) -> Bool {
    let text = cell.hasSuffix("%") ? String(cell.dropLast()) : cell
    return Double(text) != nil
  }
}
