/// Escapes text for HTML and SVG, in element content and in quoted attribute values alike:
/// keys hold `|`, `~`, `<`-free but arbitrary strings, and spec strings (paths, names) are
/// whatever a user typed, so every string that reaches a page goes through here.
public func escapeMarkup(_ text: String) -> String {
  var out = ""
  out.reserveCapacity(text.utf8.count)
  for scalar in text.unicodeScalars {
    switch scalar {
    case "&": out += "&amp;"
    case "<": out += "&lt;"
    case ">": out += "&gt;"
    case "\"": out += "&quot;"
    case "'": out += "&#39;"
    // C0 controls other than tab and newline are not allowed in XML (the SVG is parsed as
    // part of the HTML, but an exported SVG must stay well-formed too).
    case "\t", "\n": out.unicodeScalars.append(scalar)
    case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += "\u{FFFD}"
    default: out.unicodeScalars.append(scalar)
    }
  }
  return out
}
