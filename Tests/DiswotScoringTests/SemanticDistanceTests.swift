@testable import DiswotScoring
import DiswotTensor
import DiswotTestSupport
import XCTest

final class SemanticDistanceTests: XCTestCase {
  /// A random [K, C] gradient with about a third of its entries exactly zero.
  private func sparseGradient(_ k: Int, _ c: Int, _ rng: inout SeededGenerator) -> Tensor {
    var g = Tensor.normal([k, c], using: &rng)
    for i in 0..<g.count where rng.nextUniform() < 0.33 { g.storage[i] = 0 }
    return g
  }

  private func zeroRow(_ g: inout Tensor, _ row: Int) {
    for ch in 0..<g.shape[1] { g[row, ch] = 0 }
  }

  private func assertFastMatchesReference(_ s: Tensor, _ t: Tensor, _ message: String, line: UInt = #line) throws {
    let fast = try semanticDistance(student: s, teacher: t)
    XCTAssertEqual(fast.form, .perClass, message, line: line)
    assertRelativelyClose(fast.value, semanticDistanceReference(student: s, teacher: t), message, line: line)
  }

  /// The closed form against the literal C×C definition: dense, with zero entries, with a
  /// class row zero on one side or both, and with a whole gradient zero.
  func testClosedFormMatchesLiteralDefinition() throws {
    var rng = SeededGenerator(seed: 7)
    for trial in 0..<20 {
      let (k, c) = (1 + trial % 6, 1 + (trial * 5) % 13)
      let dense = (Tensor.normal([k, c], using: &rng), Tensor.normal([k, c], using: &rng))
      try assertFastMatchesReference(dense.0, dense.1, "dense trial \(trial)")
      var s = sparseGradient(k, c, &rng), t = sparseGradient(k, c, &rng)
      try assertFastMatchesReference(s, t, "sparse trial \(trial)")
      zeroRow(&s, 0)
      try assertFastMatchesReference(s, t, "student row 0 zero, trial \(trial)")
      zeroRow(&t, 0)
      zeroRow(&t, k - 1)
      try assertFastMatchesReference(s, t, "row 0 zero on both sides, trial \(trial)")
      try assertFastMatchesReference(Tensor(zeros: [k, c]), t, "student all zero, trial \(trial)")
      try assertFastMatchesReference(s, Tensor(zeros: [k, c]), "teacher all zero, trial \(trial)")
    }
    XCTAssertEqual(try semanticDistance(student: Tensor(zeros: [3, 4]), teacher: Tensor(zeros: [3, 4])).value, 0)
  }

  /// K = 1, C = 2. g_S = (1, −1): rows of g gᵀ are (1, −1) and (−1, 1), normalised
  /// (1, −1)/√2 and (−1, 1)/√2; g_T = (1, 1): both rows (1, 1)/√2. Row differences
  /// (0, −2)/√2 and (−2, 0)/√2 have squared norm 2 each: 4 / (C·K) = 2.
  /// g_S = (1, 0), g_T = (0, 1): E_S = [[1, 0], [0, 0]], E_T = [[0, 0], [0, 1]]: 2 / 2 = 1.
  func testPerClassByHand() throws {
    XCTAssertEqual(try semanticDistance(student: tensor([1, 2], [1, -1]), teacher: tensor([1, 2], [1, 1])).value, 2, accuracy: 1e-12)
    XCTAssertEqual(try semanticDistance(student: tensor([1, 2], [1, 0]), teacher: tensor([1, 2], [0, 1])).value, 1, accuracy: 1e-12)
    // E_k does not change when g_k is scaled by any nonzero factor, sign included.
    XCTAssertEqual(try semanticDistance(student: tensor([1, 2], [-3, 1]), teacher: tensor([1, 2], [0.5, -1.0 / 6])).value, 0, accuracy: 1e-12)
  }

  /// K = 2. G_S = [[1, 0], [1, 1]]: G Gᵀ = [[1, 1], [1, 2]], rows (1, 1)/√2 and (1, 2)/√5.
  /// G_T = [[1, 0, 0], [0, 0, 1]] (C = 3): G Gᵀ = I. Squared differences: row 0
  /// (1 − 1/√2)² + 1/2 = 2 − √2, row 1 1/5 + (2/√5 − 1)² = 2 − 4/√5; distance
  /// (4 − √2 − 4/√5) / K² = 0.19923301…
  func testClassGramByHandAndFormReported() throws {
    let expected = (4 - 2.0.squareRoot() - 4 / 5.0.squareRoot()) / 4
    let s = tensor([2, 2], [1, 0, 1, 1])
    let differentC = try semanticDistance(student: s, teacher: tensor([2, 3], [1, 0, 0, 0, 0, 1]))
    XCTAssertEqual(differentC.form, .classGram)
    XCTAssertEqual(differentC.value, expected, accuracy: 1e-12)
    // Same C: the per-class form unless the class-Gram form is forced; G_T = I has the same Gram.
    let t = tensor([2, 2], [1, 0, 0, 1])
    XCTAssertEqual(try semanticDistance(student: s, teacher: t).form, .perClass)
    let forced = try semanticDistance(student: s, teacher: t, forceClassGram: true)
    XCTAssertEqual(forced.form, .classGram)
    XCTAssertEqual(forced.value, expected, accuracy: 1e-12)
    XCTAssertEqual(SemanticForm.perClass.rawValue, "per-class")
    XCTAssertEqual(SemanticForm.classGram.rawValue, "class-gram")
  }

  func testRejectsMismatchedClassCounts() {
    XCTAssertThrowsError(try semanticDistance(student: Tensor(zeros: [2, 4]), teacher: Tensor(zeros: [3, 4])))
    XCTAssertThrowsError(try semanticDistance(student: Tensor(zeros: [8]), teacher: Tensor(zeros: [2, 4])))
  }
}
