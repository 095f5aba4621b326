import DiswotJSON

/// One self-contained HTML page: inline CSS, inline SVG charts, no script and no external
/// resource of any kind, so it opens offline, attaches to a message, and is safe to serve
/// under `Content-Security-Policy: default-src 'none'`. Live pages (a search or job still
/// running, served by `diswotd --http`) reload themselves with a meta refresh.
public struct HTMLPage {
  public var title: String
  /// Seconds between reloads; nil for a finished or static page.
  public var refreshSeconds: Int?
  private var body: [String] = []

  public init(title: String, refreshSeconds: Int? = nil) {
    self.title = title
    self.refreshSeconds = refreshSeconds
  }

  public mutating func heading(_ text: String, level: Int = 2) {
    body.append("<h\(level)>\(escapeMarkup(text))</h\(level)>")
  }

  public mutating func paragraph(_ text: String, cssClass: String? = nil) {
    body.append("<p\(cssClass.map { " class=\"\($0)\"" } ?? "")>\(escapeMarkup(text))</p>")
  }

  /// A link list item's worth of markup: `href` is built by the caller from escaped parts.
  public mutating func raw(_ markup: String) { body.append(markup) }

  public mutating func chart(_ chart: Chart) { body.append("<figure>" + chart.svg() + "</figure>") }

  /// A table; cells are text (escaped), a cell's `code` flag sets it in monospace (keys), a
  /// cell's `href` makes it a link.
  public mutating func table(headers: [String], rows: [[Cell]], cssClass: String = "data") {
    var out = "<table class=\"\(cssClass)\"><thead><tr>"
    out += headers.map { "<th>\(escapeMarkup($0))</th>" }.joined()
    out += "</tr></thead><tbody>"
    for row in rows {
      out += "<tr>" + row.map(\.html).joined() + "</tr>"
    }
    body.append(out + "</tbody></table>")
  }

  /// A JSON object (a result's spec) as a two-column table of dotted names and values.
  public mutating func specTable(_ spec: JSONValue?) {
    guard let spec, spec != .null else {
      paragraph("No spec recorded (a search or job stored by a daemon older than 0.6).", cssClass: "note")
      return
    }
    table(headers: ["field", "value"], rows: flatten(spec, prefix: "").map { [Cell($0.0, code: true), Cell($0.1, code: true)] }, cssClass: "spec")
  }

  public func render() -> String {
    var out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    if let refreshSeconds { out += "<meta http-equiv=\"refresh\" content=\"\(refreshSeconds)\">" }
    out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    out += "<title>\(escapeMarkup(title))</title><style>\(Self.css)</style></head><body>"
    out += "<h1>\(escapeMarkup(title))</h1>"
    out += body.joined(separator: "\n")
    out += "\n<footer>diswot report\(refreshSeconds.map { " · reloads every \($0) s while running" } ?? "")</footer></body></html>\n"
    return out
  }

  /// Compact, print-friendly styles; chart text colours match the palette's black.
  static let css = """
    body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:1260px;padding:0 1em;color:#111}\
    h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.15em;margin:1.2em 0 .4em;border-bottom:1px solid #ddd}\
    figure{display:inline-block;margin:.3em}svg.chart{max-width:100%;height:auto;font-size:11px}\
    .chart-title{font-size:13px;font-weight:600}.axis-label{font-size:12px}.tick{fill:#333}\
    .grid{stroke:#e6e6e6}.mark-label{font-size:11px;font-weight:600}\
    table{border-collapse:collapse;margin:.4em 0}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}\
    th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}\
    code{font:12px ui-monospace,monospace;word-break:break-all}.note{color:#555}\
    footer{margin-top:2em;color:#777;font-size:12px}
    """
}

/// A table cell.
public struct Cell {
  public var text: String
  public var code = false
  public var numeric = false
  public var href: String?

  public init(_ text: String, code: Bool = false, numeric: Bool = false, href: String? = nil) {
    self.text = text
    self.code = code
    self.numeric = numeric
    self.href = href
  }

  var html: String {
    var inner = escapeMarkup(text)
    if code { inner = "<code>\(inner)</code>" }
    if let href { inner = "<a href=\"\(escapeMarkup(href))\">\(inner)</a>" }
    return numeric ? "<td class=\"n\">\(inner)</td>" : "<td>\(inner)</td>"
  }
}

/// Leaves of a JSON value as (dotted name, text) pairs, object members in name order.
func flatten(_ value: JSONValue, prefix: String) -> [(String, String)] {
  switch value {
  case .object(let members):
    if members.isEmpty { return [(prefix, "{}")] }
    return members.keys.sorted().flatMap { flatten(members[$0]!, prefix: prefix.isEmpty ? $0 : prefix + "." + $0) }
  case .string(let s): return [(prefix, s)]
  case .null: return [(prefix, "null")]
  default: return [(prefix, value.compactText)]
  }
}
