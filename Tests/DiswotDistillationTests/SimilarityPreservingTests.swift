@testable import DiswotDistillation
import DiswotScoring
import DiswotTensor
import DiswotTestSupport
import XCTest

final class SimilarityPreservingTests: XCTestCase {
  /// B = 2. Student features (1, 0) and (1, 1): Gram [[1, 1], [1, 2]], rows normalised
  /// (1, 1)/√2 and (1, 2)/√5. Teacher (C = 3) (1, 0, 0) and (0, 1, 0): Gram I, G_T = I.
  /// Row 0: (1 − 1/√2)² + (1/√2)² = 2 − √2; row 1: (1/√5)² + (2/√5 − 1)² = 2 − 4/√5.
  /// ‖G_S − G_T‖² / B² = (4 − √2 − 4/√5) / 4 = 0.19923301…
  func testTinyCaseByHand() throws {
    let result = try similarityPreservingLoss(
      studentFeatures: tensor([2, 2, 1, 1], [1, 0, 1, 1]), teacherFeatures: tensor([2, 3, 1, 1], [1, 0, 0, 0, 1, 0]))
    XCTAssertEqual(result.value, (4 - 2.0.squareRoot() - 4 / 5.0.squareRoot()) / 4, accuracy: 1e-12)
    XCTAssertEqual(result.gradient.shape, [2, 2, 1, 1])
  }

  func testGradientMatchesFiniteDifferences() throws {
    var rng = SeededGenerator(seed: 21)
    let s = Tensor.normal([3, 3, 2, 2], using: &rng), t = Tensor.normal([3, 5, 2, 2], using: &rng)
    let teacher = doubles(t)
    let analytic = try similarityPreservingLoss(studentFeatures: s, teacherFeatures: t)
    let numeric = finiteDifferences(doubles(s)) { x in
      LossMath.similarityPreserving(student: x, teacher: teacher, batch: 3).value
    }
    assertGradientMatches(analytic.gradient, numeric)
  }

  func testIdenticalFeaturesGiveZero() throws {
    var rng = SeededGenerator(seed: 22)
    let f = Tensor.normal([4, 3, 2, 2], using: &rng)
    let result = try similarityPreservingLoss(studentFeatures: f, teacherFeatures: f)
    XCTAssertEqual(result.value, 0, accuracy: 1e-15)
    XCTAssertLessThan(result.gradient.storage.map { abs($0) }.max()!, 1e-7)
  }

  /// A sample with all-zero features has a zero Gram row: finite value and gradient. (Its
  /// gradient is not zero: the other samples' rows depend smoothly on their inner products
  /// with it; only its own row, whose normalisation jumps at 0, contributes nothing.)
  func testZeroSampleGivesNoNaN() throws {
    var rng = SeededGenerator(seed: 23)
    var s = Tensor.normal([3, 2, 2, 2], using: &rng)
    for i in 0..<8 { s.storage[8 + i] = 0 }
    let t = Tensor.normal([3, 4, 2, 2], using: &rng)
    let result = try similarityPreservingLoss(studentFeatures: s, teacherFeatures: t)
    XCTAssertTrue(result.value.isFinite)
    assertFinite(result.gradient)
    let zero = try similarityPreservingLoss(studentFeatures: Tensor(zeros: [3, 2, 2, 2]), teacherFeatures: t)
    XCTAssertTrue(zero.value.isFinite)
    XCTAssertTrue(zero.gradient.storage.allSatisfy { $0 == 0 })
  }

  /// SP and the DisWOT relation loss are the same formula.
  func testAgreesWithRelationLoss() throws {
    var rng = SeededGenerator(seed: 24)
    let s = Tensor.normal([6, 4, 3, 3], using: &rng), t = Tensor.normal([6, 8, 3, 3], using: &rng)
    let sp = try similarityPreservingLoss(studentFeatures: s, teacherFeatures: t)
    let relation = try diswotRelationLoss(studentFeatures: s, teacherRelation: try relationMatrix(features: t))
    assertRelativelyClose(sp.value, relation.value, rel: 1e-5)
    assertClose(sp.gradient, relation.gradient, abs: 1e-6, rel: 1e-4)
  }

  func testRejectsMismatchedBatches() {
    XCTAssertThrowsError(try similarityPreservingLoss(studentFeatures: Tensor(zeros: [2, 3, 1, 1]), teacherFeatures: Tensor(zeros: [3, 3, 1, 1])))
    XCTAssertThrowsError(try similarityPreservingLoss(studentFeatures: Tensor(zeros: [0, 3]), teacherFeatures: Tensor(zeros: [0, 3])))
  }
}
