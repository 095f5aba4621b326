import DiswotReport
import XCTest

final class ChartTests: XCTestCase {
  func testMarkupEscapingLeavesNoTagOrAttributeOpen() {
    let hostile = "</text><script>alert(1)</script>\"' onload=\"x\" & |nor_conv_3x3~0|\u{1}"
    let escaped = escapeMarkup(hostile)
    XCTAssertFalse(escaped.contains("<"))
    XCTAssertFalse(escaped.contains(">"))
    XCTAssertFalse(escaped.contains("\""))
    XCTAssertFalse(escaped.contains("'"))
    XCTAssertTrue(escaped.contains("&amp; |nor_conv_3x3~0|"))
    XCTAssertFalse(escaped.contains("\u{1}"))
  }

  func testChartHasLabelledAxesTicksAndEscapedText() {
    var chart = Chart(
      title: "a <b> title", xLabel: "MACs per image", yLabel: "score",
      x: Scale.log(covering: [1e5, 1e7])!, y: .linear(covering: [0, 1]))
    chart.points([(x: 1e6, y: 0.5), (x: 0, y: 0.5)], color: Palette.blue, cssClass: "candidate", tooltips: ["k<1>", "never"])
    chart.highlight(x: 1e6, y: 0.5, label: "chosen student", color: Palette.vermillion, cssClass: "student")
    let svg = chart.svg()
    XCTAssertTrue(svg.contains("<title>a &lt;b&gt; title</title>"))
    XCTAssertTrue(svg.contains(">MACs per image (log scale)</text>"))
    XCTAssertTrue(svg.contains(">score</text>"))
    XCTAssertTrue(svg.contains(">1M</text>"))
    XCTAssertTrue(svg.contains("<title>k&lt;1&gt;</title>"))
    // A value the log scale cannot place (0 MACs) is left out, not drawn at -infinity.
    XCTAssertFalse(svg.contains("never"))
    XCTAssertFalse(svg.contains("nan") || svg.contains("inf"))
    XCTAssertEqual(svg.components(separatedBy: "class=\"student\"").count - 1, 1)
  }

  func testPaletteIsOkabeIto() {
    XCTAssertEqual(
      Set(Palette.series), ["#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"])
  }
}
