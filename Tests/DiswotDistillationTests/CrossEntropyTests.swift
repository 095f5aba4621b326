#if canImport(Glibc)
import Glibc
#endif
@testable import DiswotDistillation
import DiswotTensor
import DiswotTestSupport
import XCTest

final class CrossEntropyTests: XCTestCase {
  /// B = 2, K = 2. Sample 0: z = (0, ln 3), softmax (1/4, 3/4), label 0: −ln(1/4) = ln 4.
  /// Sample 1: z = (ln 3, 0), softmax (3/4, 1/4), label 0: −ln(3/4) = ln(4/3).
  /// Mean (ln 4 + ln(4/3)) / 2 = ln 4 − (ln 3)/2 = 0.83698822…
  /// Gradient (p − onehot)/B: row 0 (−3/4, 3/4)/2 = (−0.375, 0.375),
  /// row 1 (−1/4, 1/4)/2 = (−0.125, 0.125). Argmax: 1 (wrong), 0 (right): 1 correct.
  func testTinyCaseByHand() throws {
    let ln3 = Float(log(3.0))
    let result = try crossEntropyLoss(logits: tensor([2, 2], [0, ln3, ln3, 0]), labels: [0, 0])
    XCTAssertEqual(result.value, log(4.0) - log(3.0) / 2, accuracy: 1e-6)
    assertClose(result.logitsGradient, tensor([2, 2], [-0.375, 0.375, -0.125, 0.125]), abs: 1e-6)
    XCTAssertEqual(result.correct, 1)
  }

  /// PyTorch's label smoothing: q = (1 − ε)·onehot + ε/K. One sample z = (0, ln 3),
  /// label 0, ε = 0.2, K = 2: q = (0.9, 0.1); loss = 0.9·ln 4 + 0.1·ln(4/3)
  /// = 1.24766496 + 0.02876821 = 1.27643317…; gradient p − q = (0.25 − 0.9, 0.75 − 0.1).
  func testLabelSmoothingByHand() throws {
    let result = try crossEntropyLoss(
      logits: tensor([1, 2], [0, Float(log(3.0))]), labels: [0], labelSmoothing: 0.2)
    XCTAssertEqual(result.value, 0.9 * log(4.0) + 0.1 * log(4.0 / 3), accuracy: 1e-6)
    assertClose(result.logitsGradient, tensor([1, 2], [-0.65, 0.65]), abs: 1e-6)
  }

  func testGradientMatchesFiniteDifferences() throws {
    var rng = SeededGenerator(seed: 11)
    let logits = Tensor.normal([3, 4], std: 2, using: &rng)
    let labels = [2, 0, 3]
    for ε in [0.0, 0.1] {
      let analytic = try crossEntropyLoss(logits: logits, labels: labels, labelSmoothing: ε)
      let numeric = finiteDifferences(doubles(logits)) { z in
        LossMath.crossEntropy(logits: z, batch: 3, classes: 4, labels: labels, smoothing: ε).value
      }
      assertGradientMatches(analytic.logitsGradient, numeric, "ε = \(ε)")
      assertRelativelyClose(
        analytic.value,
        LossMath.crossEntropy(logits: doubles(logits), batch: 3, classes: 4, labels: labels, smoothing: ε).value)
    }
  }

  /// Logits of ±1000 would overflow exp without the max subtraction.
  func testLargeLogitsStayFinite() throws {
    let result = try crossEntropyLoss(logits: tensor([2, 2], [1000, -1000, 1000, -1000]), labels: [0, 1], labelSmoothing: 0.1)
    XCTAssertTrue(result.value.isFinite)
    // Sample 1 costs 2000·(1 − ε/2) nats, sample 0 costs 2000·ε/2; mean = 1000.
    XCTAssertEqual(result.value, 1000, accuracy: 1e-6)
    assertFinite(result.logitsGradient)
    XCTAssertEqual(result.correct, 1)
  }

  func testRejectsBadInput() {
    XCTAssertThrowsError(try crossEntropyLoss(logits: Tensor(zeros: [2, 3]), labels: [0]))
    XCTAssertThrowsError(try crossEntropyLoss(logits: Tensor(zeros: [2, 3]), labels: [0, 3]))
    XCTAssertThrowsError(try crossEntropyLoss(logits: Tensor(zeros: [2, 3]), labels: [0, 1], labelSmoothing: 1.5))
    XCTAssertThrowsError(try crossEntropyLoss(logits: Tensor(zeros: [6]), labels: [0]))
  }
}
