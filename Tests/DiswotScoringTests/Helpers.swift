import DiswotModels
import DiswotTensor
import XCTest

/// Asserts |actual − expected| ≤ rel·|expected| + abs.
func assertRelativelyClose(
  _ actual: Double, _ expected: Double, rel: Double = 1e-5, abs: Double = 1e-12,
  _ message: String = "", file: StaticString = #filePath, line: UInt = #line
) {
  XCTAssertLessThanOrEqual(
    Swift.abs(actual - expected), rel * Swift.abs(expected) + abs,
    "\(actual) vs expected \(expected) \(message)", file: file, line: line)
}

/// A fresh CIFAR ResNet with Kaiming fan-out weights drawn from `seed`.
func randomResNet(_ description: ResNetDescription, seed: UInt64) -> ResNetCIFAR {
  let model = try! ResNetCIFAR(description)
  var rng = SeededGenerator(seed: seed)
  model.initialize(.kaimingNormalFanOut, using: &rng)
  return model
}

/// Batch statistics without touching running statistics: how scoring runs networks.
var scoringMode: ForwardMode { .training(updateRunningStatistics: false) }
