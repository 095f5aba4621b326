@testable import DiswotDistillation
import DiswotTensor
import DiswotTestSupport
import XCTest

final class FitNetHintTests: XCTestCase {
  /// s = (1, 2, 3, 4), t = (1, 0, 3, 0): differences (0, 2, 0, 4), mean of squares
  /// (0 + 4 + 0 + 16)/4 = 5; gradient 2(s − t)/N = (0, 1, 0, 2).
  func testTinyCaseByHand() throws {
    let result = try fitNetHintLoss(regressedStudent: tensor([1, 1, 2, 2], [1, 2, 3, 4]), teacher: tensor([1, 1, 2, 2], [1, 0, 3, 0]))
    XCTAssertEqual(result.value, 5, accuracy: 1e-12)
    assertClose(result.gradient, tensor([1, 1, 2, 2], [0, 1, 0, 2]))
  }

  func testGradientMatchesFiniteDifferences() throws {
    var rng = SeededGenerator(seed: 51)
    let s = Tensor.normal([3, 3, 2, 2], using: &rng), t = Tensor.normal([3, 3, 2, 2], using: &rng)
    let teacher = doubles(t)
    let analytic = try fitNetHintLoss(regressedStudent: s, teacher: t)
    let numeric = finiteDifferences(doubles(s)) { x in LossMath.hint(student: x, teacher: teacher).value }
    assertGradientMatches(analytic.gradient, numeric)
  }

  func testMismatchesAreErrors() {
    XCTAssertThrowsError(try fitNetHintLoss(regressedStudent: Tensor(zeros: [2, 3, 2, 2]), teacher: Tensor(zeros: [2, 4, 2, 2]))) { error in
      guard case LossError.needsEmbedding = error else { return XCTFail("\(error)") }
    }
    XCTAssertThrowsError(try fitNetHintLoss(regressedStudent: Tensor(zeros: [2, 3, 2, 2]), teacher: Tensor(zeros: [2, 3, 4, 4])))
  }
}
