import DiswotReport
import XCTest

final class ScaleTests: XCTestCase {
  func testNiceStepsAreOneTwoOrFiveTimesAPowerOfTen() {
    XCTAssertEqual(niceStep(0.23), 0.5, accuracy: 1e-12)
    XCTAssertEqual(niceStep(1), 1)
    XCTAssertEqual(niceStep(1.5), 2)
    XCTAssertEqual(niceStep(3), 5)
    XCTAssertEqual(niceStep(7), 10)
    XCTAssertEqual(niceStep(180_000), 200_000)
  }

  func testLinearScaleSnapsToNiceEndsAndTicks() {
    let scale = Scale.linear(covering: [0.13, 0.87])
    XCTAssertEqual(scale, .linear(lower: 0, upper: 1, step: 0.2))
    XCTAssertEqual(scale.ticks.map(scale.label), ["0", "0.2", "0.4", "0.6", "0.8", "1"])
    XCTAssertEqual(scale.position(0.5)!, 0.5, accuracy: 1e-12)
    // Negative scores (the diswot proxy) and a constant series.
    let negative = Scale.linear(covering: [-0.0123, -0.0031])
    XCTAssertEqual(negative.ticks.map(negative.label), ["-0.014", "-0.012", "-0.01", "-0.008", "-0.006", "-0.004", "-0.002"])
    let constant = Scale.linear(covering: [5, 5])
    XCTAssertLessThan(constant.position(5)!, 1)
    XCTAssertGreaterThan(constant.position(5)!, 0)
    XCTAssertEqual(Scale.linear(covering: [.nan]), .linear(lower: 0, upper: 1, step: 0.2))
  }

  func testLogScaleTicksDecadesWithSIPrefixes() throws {
    let scale = try XCTUnwrap(Scale.log(covering: [3e5, 4e7]))
    XCTAssertEqual(scale, .log(lower: 1e5, upper: 1e8))
    XCTAssertEqual(scale.ticks.map(scale.label), ["100k", "1M", "10M", "100M"])
    XCTAssertEqual(scale.position(1e6)!, 1.0 / 3, accuracy: 1e-12)
    XCTAssertNil(scale.position(0))
    // Over two decades or fewer, 2 and 5 are ticked as well.
    let short = try XCTUnwrap(Scale.log(covering: [150, 900]))
    XCTAssertEqual(short.ticks, [100, 200, 500, 1000])
    // Over many decades, every few decades only.
    let long = try XCTUnwrap(Scale.log(covering: [1, 1e20]))
    XCTAssertLessThanOrEqual(long.ticks.count, 11)
  }

  func testAutomaticScaleIsLogOnlyForPositiveValuesSpanningDecades() {
    XCTAssertFalse(Scale.automatic(covering: [1, 5]).isLog)
    XCTAssertTrue(Scale.automatic(covering: [1e3, 1e6]).isLog)
    XCTAssertFalse(Scale.automatic(covering: [0, 1e6]).isLog)
    XCTAssertFalse(Scale.automatic(covering: [-1, 1e6]).isLog)
    XCTAssertFalse(Scale.automatic(covering: [1, 50], decades: 2).isLog)
  }

  func testTickLabelsUseTheStepsPrecision() {
    XCTAssertEqual(formatTick(0.30000000000000004, step: 0.1), "0.3")
    XCTAssertEqual(formatTick(2_500_000, step: 500_000), "2.5M")
    XCTAssertEqual(formatTick(40_000, step: 10_000), "40k")
    XCTAssertEqual(formatTick(0.0001, step: 0.0001), "1e-4")
    XCTAssertEqual(formatCount(40_553_472), "40.6M")
    XCTAssertEqual(formatTick(3.5e30, step: 5e29), "3.5e30")
  }
}
