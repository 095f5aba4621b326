import DiswotScoring
import DiswotTensor
import DiswotTestSupport
import XCTest

final class RelationDistanceTests: XCTestCase {
  /// B = 2. Student features (1, 0) and (1, 1): Gram [[1, 1], [1, 2]], Q rows (1, 1)/√2
  /// and (1, 2)/√5. Teacher (C = 3) features (1, 0, 0) and (0, 1, 0): Gram I, Q = I.
  /// ‖Q_S − Q_T‖² = (2 − √2) + (2 − 4/√5) as in the class-Gram case; divided by B² = 4.
  func testTinyCaseByHand() throws {
    let qS = try relationMatrix(features: tensor([2, 2, 1, 1], [1, 0, 1, 1]))
    assertClose(qS, tensor([2, 2], [Float(0.5.squareRoot()), Float(0.5.squareRoot()), 1 / Float(5).squareRoot(), 2 / Float(5).squareRoot()]))
    let qT = try relationMatrix(features: tensor([2, 3, 1, 1], [1, 0, 0, 0, 1, 0]))
    assertClose(qT, tensor([2, 2], [1, 0, 0, 1]))
    let expected = (4 - 2.0.squareRoot() - 4 / 5.0.squareRoot()) / 4
    XCTAssertEqual(try relationDistance(student: qS, teacher: qT), expected, accuracy: 1e-6)
  }

  /// Q is a function of F̃F̃ᵀ up to a common row scale: invariant to scaling *all*
  /// features and to permuting channels, and identical inputs are exactly 0 apart.
  func testInvariancesAndIdentity() throws {
    var rng = SeededGenerator(seed: 3)
    let f = Tensor.normal([5, 4, 3, 3], using: &rng)
    let q = try relationMatrix(features: f)
    XCTAssertEqual(try relationDistance(student: q, teacher: try relationMatrix(features: f)), 0)

    var scaled = f
    for i in 0..<scaled.count { scaled.storage[i] *= 3.7 }
    assertClose(try relationMatrix(features: scaled), q, abs: 1e-6)

    var permuted = f
    let order = [2, 0, 3, 1]
    for n in 0..<5 {
      for (to, from) in order.enumerated() {
        for y in 0..<3 { for x in 0..<3 { permuted[n, to, y, x] = f[n, from, y, x] } }
      }
    }
    assertClose(try relationMatrix(features: permuted), q, abs: 1e-6)
  }

  /// Rows of the *Gram* are normalised, not the samples: scaling one sample changes its
  /// inner products with the others relative to its own norm. Student features (1, 0),
  /// (2, 2) have Gram [[1, 2], [2, 8]], so row 0 becomes (1, 2)/√5, not (1, 1)/√2.
  func testScalingOneSampleIsNotInvariant() throws {
    let q = try relationMatrix(features: tensor([2, 2], [1, 0, 2, 2]))
    XCTAssertEqual(q[0, 0], 1 / Float(5).squareRoot(), accuracy: 1e-6)
    XCTAssertEqual(q[0, 1], 2 / Float(5).squareRoot(), accuracy: 1e-6)
  }

  func testZeroSampleKeepsAZeroRow() throws {
    let q = try relationMatrix(features: tensor([2, 2], [0, 0, 3, 4]))
    assertClose(q, tensor([2, 2], [0, 0, 0, 1]))
  }

  func testRejectsMismatchedBatches() throws {
    let q2 = try relationMatrix(features: Tensor(zeros: [2, 3], value: 1))
    let q3 = try relationMatrix(features: Tensor(zeros: [3, 3], value: 1))
    XCTAssertThrowsError(try relationDistance(student: q2, teacher: q3))
    XCTAssertThrowsError(try relationMatrix(features: Tensor(zeros: [0, 3])))
  }
}
