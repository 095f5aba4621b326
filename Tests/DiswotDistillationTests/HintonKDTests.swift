#if canImport(Glibc)
import Glibc
#endif
@testable import DiswotDistillation
import DiswotTensor
import DiswotTestSupport
import XCTest

final class HintonKDTests: XCTestCase {
  /// T = 2, B = 1, K = 2. s = (0, 0): p_s = (1/2, 1/2). t = (2 ln 3, 0): t/T = (ln 3, 0),
  /// p_t = (3/4, 1/4). KL(p_t ‖ p_s) = 3/4·ln(3/2) + 1/4·ln(1/2)
  /// = 0.30409883 − 0.17328680 = 0.13081203; × T² = 0.52324814.
  /// Gradient T (p_s − p_t)/B = 2·(−1/4, 1/4) = (−0.5, 0.5).
  func testTinyCaseByHand() throws {
    let result = try hintonKDLoss(
      studentLogits: tensor([1, 2], [0, 0]), teacherLogits: tensor([1, 2], [Float(2 * log(3.0)), 0]),
      temperature: 2)
    XCTAssertEqual(result.value, 4 * (0.75 * log(1.5) + 0.25 * log(0.5)), accuracy: 1e-6)
    assertClose(result.gradient, tensor([1, 2], [-0.5, 0.5]), abs: 1e-6)
  }

  /// Batchmean: two copies of the sample give the same value as one (sum / B).
  func testReductionIsBatchMean() throws {
    let s = tensor([2, 3], [0.1, -0.4, 1.2, 0.1, -0.4, 1.2])
    let t = tensor([2, 3], [1.0, 0.5, -2.0, 1.0, 0.5, -2.0])
    let two = try hintonKDLoss(studentLogits: s, teacherLogits: t, temperature: 4)
    let one = try hintonKDLoss(
      studentLogits: tensor([1, 3], [0.1, -0.4, 1.2]), teacherLogits: tensor([1, 3], [1.0, 0.5, -2.0]), temperature: 4)
    assertRelativelyClose(two.value, one.value, rel: 1e-12)
  }

  func testNonNegativeAndZeroAtTeacher() throws {
    var rng = SeededGenerator(seed: 5)
    for trial in 0..<10 {
      let s = Tensor.normal([3, 4], std: 3, using: &rng), t = Tensor.normal([3, 4], std: 3, using: &rng)
      XCTAssertGreaterThanOrEqual(try hintonKDLoss(studentLogits: s, teacherLogits: t, temperature: 4).value, 0, "trial \(trial)")
      let same = try hintonKDLoss(studentLogits: t, teacherLogits: t, temperature: 4)
      XCTAssertEqual(same.value, 0)
      XCTAssertTrue(same.gradient.storage.allSatisfy { $0 == 0 })
    }
  }

  func testGradientMatchesFiniteDifferences() throws {
    var rng = SeededGenerator(seed: 12)
    let s = Tensor.normal([3, 4], std: 2, using: &rng), t = Tensor.normal([3, 4], std: 2, using: &rng)
    let teacher = doubles(t)
    for temperature in [1.0, 4.0] {
      let analytic = try hintonKDLoss(studentLogits: s, teacherLogits: t, temperature: temperature)
      let numeric = finiteDifferences(doubles(s)) { x in
        LossMath.hintonKD(student: x, teacher: teacher, batch: 3, classes: 4, temperature: temperature).value
      }
      assertGradientMatches(analytic.gradient, numeric, "T = \(temperature)")
    }
  }

  /// A teacher probability that underflows to 0 contributes 0, not NaN (0·log 0 = 0).
  func testExtremeTeacherStaysFinite() throws {
    let result = try hintonKDLoss(
      studentLogits: tensor([1, 3], [0, 1, 2]), teacherLogits: tensor([1, 3], [5000, -5000, 0]), temperature: 1)
    XCTAssertTrue(result.value.isFinite)
    assertFinite(result.gradient)
  }

  func testRejectsBadInput() {
    XCTAssertThrowsError(try hintonKDLoss(studentLogits: Tensor(zeros: [2, 3]), teacherLogits: Tensor(zeros: [2, 4]), temperature: 4))
    XCTAssertThrowsError(try hintonKDLoss(studentLogits: Tensor(zeros: [2, 3]), teacherLogits: Tensor(zeros: [2, 3]), temperature: 0))
  }
}
