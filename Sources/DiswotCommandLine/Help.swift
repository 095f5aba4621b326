import Foundation

/// Help texts generated from command specs, so help can never disagree with the parser.
///
/// Text is wrapped to a fixed 80 columns rather than the terminal's width: help is as
/// often read in a pipe or a file as on a terminal, and fixed output is testable.
enum Help {
  static let width = 80

  /// The line under a usage error pointing at the right help.
  static func hint(_ path: [String]) -> String {
    "See '\(path.joined(separator: " ")) --help'."
  }

  static func text(for chain: [CommandSpec]) -> String {
    let command = chain.last!
    let path = chain.map(\.name).joined(separator: " ")
    var lines = wrap("OVERVIEW: " + command.abstract, width: width)
    for paragraph in command.discussion.components(separatedBy: "\n\n") where !paragraph.isEmpty {
      lines += [""] + wrap(paragraph, width: width)
    }
    var usage = "USAGE: \(path) [<options>]"
    if let positionals = command.positionals { usage += " " + positionals }
    if !command.subcommands.isEmpty {
      usage += command.isRunnable ? " [<subcommand>]" : " <subcommand>"
    }
    lines += ["", usage, "", "OPTIONS:"]

    // Own options first, then the global ones of ancestors, nearest first: exactly
    // what the parser accepts here.
    var seen = Set<String>()
    var rows: [(String, String)] = []
    for (depth, spec) in chain.enumerated().reversed() {
      for option in spec.options where (depth == chain.count - 1 || option.isGlobal) && seen.insert(option.long).inserted {
        rows.append(row(option))
      }
    }
    rows.append(("-h, --help", "Show help information."))
    lines += columns(rows)

    if !command.subcommands.isEmpty {
      lines += ["", "SUBCOMMANDS:"]
      lines += columns(command.subcommands.map { ($0.name, $0.abstract) })
      lines += ["", "See '\(path) <subcommand> --help' for details."]
    }
    return lines.joined(separator: "\n") + "\n"
  }

  private static func row(_ option: OptionSpec) -> (String, String) {
    var left = option.short.map { "-\($0), " } ?? "    "
    left += "--" + option.long
    if option.kind != .flag { left += " <\(option.valueName)>" }
    if option.kind == .repeatable { left += " ..." }
    var right = option.help
    if let value = option.defaultValue { right += " (default: \(value))" }
    return (left, right)
  }

  /// Two aligned columns indented by two spaces; a left cell too wide for the column
  /// gets a line of its own.
  static func columns(_ rows: [(String, String)]) -> [String] {
    let leftWidth = min(rows.map(\.0.count).max() ?? 0, 28)
    let indent = String(repeating: " ", count: 2 + leftWidth + 2)
    var lines: [String] = []
    for (left, right) in rows {
      let text = wrap(right, width: max(20, width - indent.count))
      if left.count > leftWidth {
        lines.append("  " + left)
        lines += text.map { indent + $0 }
      } else {
        let padded = "  " + left + String(repeating: " ", count: leftWidth - left.count + 2)
        lines.append(padded + (text.first ?? ""))
        lines += text.dropFirst().map { indent + $0 }
      }
    }
    return lines.map { String($0.reversed().drop(while: { $0 == " " }).reversed()) }
  }

  /// Greedy word wrap; a word longer than the width gets a line of its own.
  static func wrap(_ text: String, width: Int) -> [String] {
    var lines: [String] = []
    var line = ""
    for word in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
      if line.isEmpty {
        line = String(word)
      } else if line.count + 1 + word.count <= width {
        line += " " + word
      } else {
        lines.append(line)
        line = String(word)
      }
    }
    if !line.isEmpty || lines.isEmpty { lines.append(line) }
    return lines
  }
}
