@testable import DiswotDistillation
import DiswotTensor
import DiswotTestSupport
import XCTest


/// Central finite differences (f(x + εe_i) − f(x − εe_i)) / 2ε of a Double function,
/// one input element at a time.
func finiteDifferences(_ x: [Double], epsilon: Double = 1e-3, _ f: ([Double]) -> Double) -> [Double] {
  var gradient = [Double](repeating: 0, count: x.count)
  var probe = x
  for i in x.indices {
    probe[i] = x[i] + epsilon
    let up = f(probe)
    probe[i] = x[i] - epsilon
    let down = f(probe)
    probe[i] = x[i]
    gradient[i] = (up - down) / (2 * epsilon)
  }
  return gradient
}

/// Asserts an analytic (Float) gradient matches a finite-difference (Double) one
/// element-wise within rel·(|numeric| + 1e-2·max|numeric|), and that the gradient is not
/// trivially zero (unless `allowZero`).
func assertGradientMatches(
  _ analytic: Tensor, _ numeric: [Double], rel: Double = 1e-3, allowZero: Bool = false,
  _ message: String = "", file: StaticString = #filePath, line: UInt = #line
) {
  XCTAssertEqual(analytic.count, numeric.count, "count \(message)", file: file, line: line)
  let scale = numeric.map { Swift.abs($0) }.max() ?? 0
  if !allowZero {
    XCTAssertGreaterThan(scale, 1e-8, "finite-difference gradient is zero \(message)", file: file, line: line)
  }
  for (i, (a, n)) in zip(analytic.storage, numeric).enumerated() {
    let tolerance = rel * (Swift.abs(n) + 1e-2 * scale) + 1e-12
    if !(Swift.abs(Double(a) - n) <= tolerance) {
      XCTFail("element \(i): analytic \(a) vs finite difference \(n) \(message)", file: file, line: line)
      return
    }
  }
}

/// Asserts no element is NaN or infinite.
func assertFinite(_ t: Tensor, _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
  XCTAssertTrue(t.storage.allSatisfy { $0.isFinite }, "non-finite element \(message)", file: file, line: line)
}

/// The Double elements of a Float tensor, as the losses see them.
func doubles(_ t: Tensor) -> [Double] { LossMath.doubles(t) }
