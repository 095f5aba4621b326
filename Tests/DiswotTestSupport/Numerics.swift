import DiswotTensor
import XCTest

/// Asserts that two float sequences agree element-wise within `abs + rel·|expected|`.
public func assertClose(
  _ actual: [Float], _ expected: [Float], abs: Float = 1e-5, rel: Float = 1e-5,
  _ message: String = "", file: StaticString = #filePath, line: UInt = #line
) {
  XCTAssertEqual(actual.count, expected.count, "count \(message)", file: file, line: line)
  for (i, (a, e)) in zip(actual, expected).enumerated() where !(Swift.abs(a - e) <= abs + rel * Swift.abs(e)) {
    XCTFail("element \(i): \(a) vs expected \(e) \(message)", file: file, line: line)
    return
  }
}

/// Asserts that two tensors have the same shape and close elements.
public func assertClose(
  _ actual: Tensor, _ expected: Tensor, abs: Float = 1e-5, rel: Float = 1e-5,
  _ message: String = "", file: StaticString = #filePath, line: UInt = #line
) {
  XCTAssertEqual(actual.shape, expected.shape, "shape \(message)", file: file, line: line)
  assertClose(actual.storage, expected.storage, abs: abs, rel: rel, message, file: file, line: line)
}

/// A tensor from literal values, for hand-worked test cases.
public func tensor(_ shape: [Int], _ values: [Float]) -> Tensor {
  try! Tensor(shape: shape, storage: values)
}

/// Asserts |actual − expected| ≤ rel·|expected| + abs, for Double results.
public func assertRelativelyClose(
  _ actual: Double, _ expected: Double, rel: Double = 1e-6, abs: Double = 1e-12,
  _ message: String = "", file: StaticString = #filePath, line: UInt = #line
) {
  XCTAssertLessThanOrEqual(
    Swift.abs(actual - expected), rel * Swift.abs(expected) + abs,
    "\(actual) vs expected \(expected) \(message)", file: file, line: line)
}
