import DiswotScoring
import DiswotTensor
import DiswotTestSupport
import XCTest

final class ClassGradientTests: XCTestCase {
  /// B = 2, C = 2, K = 2, z = 0 so p = (0.5, 0.5) for both samples; y = (0, 1),
  /// h = [[1, 2], [3, 4]]. p − onehot(y) = [[−0.5, 0.5], [0.5, −0.5]], so
  /// G[0] = (−0.5·(1, 2) + 0.5·(3, 4)) / 2 = (0.5, 0.5) and G[1] = −G[0].
  func testUniformSoftmaxByHand() throws {
    let g = try classifierGradient(
      pooled: tensor([2, 2], [1, 2, 3, 4]), logits: tensor([2, 2], [0, 0, 0, 0]), labels: [0, 1])
    assertClose(g, tensor([2, 2], [0.5, 0.5, -0.5, -0.5]))
  }

  /// B = 1, z = (ln 3, 0) so p = (3/4, 1/4); y = 1, h = (2, −4). p − onehot = (0.75, −0.75),
  /// G = [[1.5, −3], [−1.5, 3]]. Adding 1000 to both logits must not change p (softmax
  /// subtracts the row maximum, so exp cannot overflow).
  func testSkewedSoftmaxByHandAndLargeLogits() throws {
    let expected = tensor([2, 2], [1.5, -3, -1.5, 3])
    let z = Float(log(3.0))
    assertClose(try classifierGradient(pooled: tensor([1, 2], [2, -4]), logits: tensor([1, 2], [z, 0]), labels: [1]), expected)
    assertClose(
      try classifierGradient(pooled: tensor([1, 2], [2, -4]), logits: tensor([1, 2], [1000 + z, 1000]), labels: [1]),
      expected, abs: 1e-4)
  }

  func testRejectsBadLabelsAndShapes() {
    let pooled = tensor([2, 2], [1, 2, 3, 4]), logits = tensor([2, 2], [0, 0, 0, 0])
    XCTAssertThrowsError(try classifierGradient(pooled: pooled, logits: logits, labels: [0, 2])) { error in
      XCTAssertEqual(error as? ScoringError, .invalidArgument("label 2 outside 0..<2"))
    }
    XCTAssertThrowsError(try classifierGradient(pooled: pooled, logits: logits, labels: [0, -1]))
    XCTAssertThrowsError(try classifierGradient(pooled: pooled, logits: logits, labels: [0]))
    XCTAssertThrowsError(try classifierGradient(pooled: pooled, logits: tensor([1, 2], [0, 0]), labels: [0]))
    XCTAssertThrowsError(try classifierGradient(pooled: tensor([4], [1, 2, 3, 4]), logits: logits, labels: [0, 1]))
  }
}
