import Foundation

/// One chart as inline SVG: a plot area with labelled axes (the label carries the unit),
/// ticks and grid lines, and marks added in drawing order. Marks carry a CSS class
/// (`candidate`, `front`, `student`, …) so pages style them and tests find them in the
/// DOM; every text is escaped (`escapeMarkup`).
public struct Chart {
  public var title: String
  public var xLabel: String
  public var yLabel: String
  public var x: Scale
  public var y: Scale
  public var width = 600.0
  public var height = 360.0
  private var marks: [String] = []
  private var legend: [(label: String, color: String, cssClass: String)] = []

  /// Left, right, top, bottom margins: room for tick labels and the axis labels.
  private let margin = (left: 72.0, right: 20.0, top: 46.0, bottom: 52.0)

  public init(title: String, xLabel: String, yLabel: String, x: Scale, y: Scale) {
    self.title = title
    self.xLabel = xLabel
    self.yLabel = yLabel
    self.x = x
    self.y = y
  }

  private var plotWidth: Double { width - margin.left - margin.right }
  private var plotHeight: Double { height - margin.top - margin.bottom }

  /// SVG coordinates of a data point; nil when a scale cannot place it.
  private func point(_ px: Double, _ py: Double) -> (Double, Double)? {
    guard let u = x.position(px), let v = y.position(py) else { return nil }
    return (margin.left + u * plotWidth, margin.top + (1 - v) * plotHeight)
  }

  /// Dots, each with an optional tooltip (`<title>`, shown on hover).
  public mutating func points(
    _ data: [(x: Double, y: Double)], color: String, radius: Double = 2.5, cssClass: String, opacity: Double = 1,
    tooltips: [String]? = nil, legend label: String? = nil
  ) {
    var group = "<g class=\"\(cssClass)\" fill=\"\(color)\"\(opacity < 1 ? " fill-opacity=\"\(opacity)\"" : "")>"
    for (i, d) in data.enumerated() {
      guard let (px, py) = point(d.x, d.y) else { continue }
      let circle = "<circle cx=\"\(coordinate(px))\" cy=\"\(coordinate(py))\" r=\"\(radius)\""
      if let tip = tooltips?[i] {
        group += circle + "><title>\(escapeMarkup(tip))</title></circle>"
      } else {
        group += circle + "/>"
      }
    }
    marks.append(group + "</g>")
    if let label { legend.append((label, color, cssClass)) }
  }

  /// A polyline through the points in order; `steps` draws it as a staircase (each value
  /// holds until the next point), as a best-so-far curve is.
  public mutating func line(
    _ data: [(x: Double, y: Double)], color: String, width strokeWidth: Double = 2, cssClass: String, steps: Bool = false,
    dashed: Bool = false, legend label: String? = nil
  ) {
    var coordinates: [(Double, Double)] = []
    for d in data {
      guard let p = point(d.x, d.y) else { continue }
      if steps, let last = coordinates.last { coordinates.append((p.0, last.1)) }
      coordinates.append(p)
    }
    guard !coordinates.isEmpty else { return }
    let list = coordinates.map { "\(coordinate($0.0)),\(coordinate($0.1))" }.joined(separator: " ")
    marks.append(
      "<polyline class=\"\(cssClass)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(strokeWidth)\"\(dashed ? " stroke-dasharray=\"5 3\"" : "") points=\"\(list)\"/>")
    if let label { legend.append((label, color, cssClass)) }
  }

  /// One highlighted point: a large ringed dot with a text label beside it.
  public mutating func highlight(x px: Double, y py: Double, label: String, color: String, cssClass: String, tooltip: String? = nil) {
    guard let (sx, sy) = point(px, py) else { return }
    let anchorEnd = sx > margin.left + plotWidth * 0.7
    var mark = "<g class=\"\(cssClass)\"><circle cx=\"\(coordinate(sx))\" cy=\"\(coordinate(sy))\" r=\"7\" fill=\"\(color)\" stroke=\"#000\" stroke-width=\"1.5\">"
    if let tooltip { mark += "<title>\(escapeMarkup(tooltip))</title>" }
    mark += "</circle><text x=\"\(coordinate(sx + (anchorEnd ? -11 : 11)))\" y=\"\(coordinate(sy - 9))\" text-anchor=\"\(anchorEnd ? "end" : "start")\" class=\"mark-label\">\(escapeMarkup(label))</text></g>"
    marks.append(mark)
    legend.append((label, color, cssClass))
  }

  /// A vertical rule at `x` across the plot, labelled at its top.
  public mutating func rule(x px: Double, label: String, color: String, cssClass: String) {
    guard let u = x.position(px) else { return }
    let sx = margin.left + u * plotWidth
    let anchorEnd = u > 0.7
    marks.append(
      "<g class=\"\(cssClass)\"><line x1=\"\(coordinate(sx))\" x2=\"\(coordinate(sx))\" y1=\"\(margin.top)\" y2=\"\(margin.top + plotHeight)\" stroke=\"\(color)\" stroke-dasharray=\"4 3\"/><text x=\"\(coordinate(sx + (anchorEnd ? -4 : 4)))\" y=\"\(margin.top + 12)\" text-anchor=\"\(anchorEnd ? "end" : "start")\" class=\"mark-label\">\(escapeMarkup(label))</text></g>")
  }

  /// The chart as an `<svg>` element (its `<title>` and `aria-label` the chart's title).
  public func svg() -> String {
    let title = escapeMarkup(self.title)
    var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"\(title)\">"
    out += "<title>\(title)</title>"
    out += "<text class=\"chart-title\" x=\"\(Int(width / 2))\" y=\"20\" text-anchor=\"middle\">\(title)</text>"
    out += axes()
    out += marks.joined()
    out += legendBox()
    return out + "</svg>"
  }

  private func axes() -> String {
    let (left, top, bottom) = (margin.left, margin.top, margin.top + plotHeight)
    let right = left + plotWidth
    var out = "<g class=\"axes\">"
    out += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotWidth)\" height=\"\(plotHeight)\" fill=\"none\" stroke=\"#999\"/>"
    for t in x.ticks {
      guard let u = x.position(t), (-1e-9...1 + 1e-9).contains(u) else { continue }
      let sx = coordinate(left + u * plotWidth)
      out += "<line class=\"grid\" x1=\"\(sx)\" x2=\"\(sx)\" y1=\"\(top)\" y2=\"\(bottom)\"/>"
      out += "<text class=\"tick x-tick\" x=\"\(sx)\" y=\"\(bottom + 16)\" text-anchor=\"middle\">\(escapeMarkup(x.label(t)))</text>"
    }
    for t in y.ticks {
      guard let v = y.position(t), (-1e-9...1 + 1e-9).contains(v) else { continue }
      let sy = coordinate(top + (1 - v) * plotHeight)
      out += "<line class=\"grid\" x1=\"\(left)\" x2=\"\(right)\" y1=\"\(sy)\" y2=\"\(sy)\"/>"
      out += "<text class=\"tick y-tick\" x=\"\(left - 6)\" y=\"\(sy)\" dy=\"0.32em\" text-anchor=\"end\">\(escapeMarkup(y.label(t)))</text>"
    }
    out += "<text class=\"axis-label x-label\" x=\"\(coordinate(left + plotWidth / 2))\" y=\"\(Int(height - 10))\" text-anchor=\"middle\">\(escapeMarkup(xLabel + (x.isLog ? " (log scale)" : "")))</text>"
    out += "<text class=\"axis-label y-label\" transform=\"translate(16 \(coordinate(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">\(escapeMarkup(yLabel + (y.isLog ? " (log scale)" : "")))</text>"
    return out + "</g>"
  }

  /// One row of swatches between the title and the plot, so the legend never hides data.
  private func legendBox() -> String {
    guard !legend.isEmpty else { return "" }
    var out = "<g class=\"legend\">"
    var x = margin.left
    for entry in legend {
      out += "<rect x=\"\(coordinate(x))\" y=\"27\" width=\"10\" height=\"10\" fill=\"\(entry.color)\"/><text x=\"\(coordinate(x + 14))\" y=\"36\">\(escapeMarkup(entry.label))</text>"
      x += 14 + Double(entry.label.count) * 6.2 + 14
    }
    return out + "</g>"
  }
}

/// SVG coordinates to 0.1 px: enough on screen, and a third of the bytes of full precision.
func coordinate(_ value: Double) -> String {
  let rounded = (value * 10).rounded() / 10
  return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
}
