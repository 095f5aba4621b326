@testable import DiswotDistillation
import DiswotTensor
import DiswotTestSupport
import XCTest

final class AttentionTransferTests: XCTestCase {
  /// B = 1, H×W = 1×2, p = 2. Student channels (1, 0) and (1, 2): mean of squares
  /// ((1 + 1)/2, (0 + 4)/2) = (1, 2), normalised (1, 2)/√5. Teacher, one channel (3, 0):
  /// squares (9, 0), normalised (1, 0). Squared difference (1/√5 − 1)² + (2/√5)²
  /// = 1 − 2/√5 + 1/5 + 4/5 = 2 − 2/√5; mean over B·H·W = 2: 1 − 1/√5 = 0.55278640…
  func testTinyCaseByHand() throws {
    let result = try attentionTransferLoss(
      studentFeatures: tensor([1, 2, 1, 2], [1, 0, 1, 2]), teacherFeatures: tensor([1, 1, 1, 2], [3, 0]))
    XCTAssertEqual(result.value, 1 - 1 / 5.0.squareRoot(), accuracy: 1e-12)
  }

  func testGradientMatchesFiniteDifferences() throws {
    var rng = SeededGenerator(seed: 41)
    let s = Tensor.normal([3, 3, 2, 2], using: &rng), t = Tensor.normal([3, 5, 2, 2], using: &rng)
    let teacher = doubles(t)
    for p in [2, 3] {
      let analytic = try attentionTransferLoss(studentFeatures: s, teacherFeatures: t, p: p)
      let numeric = finiteDifferences(doubles(s)) { x in
        LossMath.attentionTransfer(
          student: x, teacher: teacher, batch: 3, studentChannels: 3, teacherChannels: 5, spatial: 4, p: p).value
      }
      assertGradientMatches(analytic.gradient, numeric, "p = \(p)")
    }
  }

  func testZeroMapGivesNoNaN() throws {
    var rng = SeededGenerator(seed: 42)
    var s = Tensor.normal([2, 2, 2, 2], using: &rng)
    for i in 0..<8 { s.storage[i] = 0 }  // sample 0 entirely zero
    let result = try attentionTransferLoss(studentFeatures: s, teacherFeatures: Tensor.normal([2, 3, 2, 2], using: &rng))
    XCTAssertTrue(result.value.isFinite)
    assertFinite(result.gradient)
    XCTAssertTrue(result.gradient.storage[0..<8].allSatisfy { $0 == 0 })
  }

  func testSpatialMismatchIsAnError() {
    XCTAssertThrowsError(try attentionTransferLoss(studentFeatures: Tensor(zeros: [2, 3, 4, 4]), teacherFeatures: Tensor(zeros: [2, 3, 2, 2]))) { error in
      guard case LossError.shapeMismatch(let message) = error else { return XCTFail("\(error)") }
      XCTAssertTrue(message.contains("4×4") && message.contains("2×2"), message)
    }
    XCTAssertThrowsError(try attentionTransferLoss(studentFeatures: Tensor(zeros: [2, 3, 2, 2]), teacherFeatures: Tensor(zeros: [2, 3, 2, 2]), p: 0))
  }
}
