import DiswotScoring
import DiswotTensor
import XCTest

/// The relation Gram Q = rownorm(X Xᵀ): its two forwards (Float Gram for scoring, Double
/// for the losses) and its backward, checked by central differences in Double.
final class RelationGramTests: XCTestCase {
  private func values(_ count: Int, seed: UInt64) -> [Double] {
    var rng = SeededGenerator(seed: seed)
    return Tensor.normal([count], std: 1, using: &rng).storage.map(Double.init)
  }

  private func forward(_ x: [Double], rows: Int) -> RelationGram {
    x.withUnsafeBufferPointer { relation_gram_forward($0.baseAddress!, rows: rows, length: x.count / rows) }
  }

  func testForwardRowsHaveUnitNormAndAZeroRowStaysZero() {
    let (rows, length) = (4, 6)
    var x = values(rows * length, seed: 1)
    for l in 0..<length { x[2 * length + l] = 0 }
    let gram = forward(x, rows: rows)
    for r in 0..<rows {
      let norm = (0..<rows).map { gram.q[r * rows + $0] * gram.q[r * rows + $0] }.reduce(0, +).squareRoot()
      XCTAssertEqual(norm, r == 2 ? 0 : 1, accuracy: 1e-12, "row \(r)")
      XCTAssertEqual(gram.norms[r] == 0, r == 2)
    }
    // The Float forward (scoring's) agrees to Float precision.
    let single = x.map(Float.init).withUnsafeBufferPointer { relation_gram_forward($0.baseAddress!, rows: rows, length: length) }
    for i in 0..<(rows * rows) { XCTAssertEqual(single.q[i], gram.q[i], accuracy: 1e-6) }
    XCTAssertEqual(single.norms.map { $0 == 0 }, gram.norms.map { $0 == 0 })
  }

  func testBackwardMatchesCentralDifferences() {
    let (rows, length) = (5, 7)
    let weights = values(rows * rows, seed: 3)  // L = Σ W ⊙ Q, so dQ = W
    func loss(_ x: [Double]) -> Double {
      let q = forward(x, rows: rows).q
      return zip(q, weights).map { $0 * $1 }.reduce(0, +)
    }
    for zeroRow in [nil, 3] as [Int?] {
      var x = values(rows * length, seed: 2)
      if let zeroRow { for l in 0..<length { x[zeroRow * length + l] = 0 } }
      let gram = forward(x, rows: rows)
      var dX = [Double](repeating: .nan, count: x.count)  // overwritten
      x.withUnsafeBufferPointer { xp in
        dX.withUnsafeMutableBufferPointer { relation_gram_backward(gram, dQ: weights, x: xp.baseAddress!, length: length, into: $0.baseAddress!) }
      }
      let h = 1e-6
      for i in x.indices {
        // Q is not differentiable where a row of the Gram is zero: skip that row's coordinates.
        if let zeroRow, i / length == zeroRow { continue }
        var up = x, down = x
        up[i] += h
        down[i] -= h
        let numeric = (loss(up) - loss(down)) / (2 * h)
        XCTAssertEqual(dX[i], numeric, accuracy: 1e-7 + 1e-6 * abs(numeric), "dX[\(i)] (zero row \(zeroRow.map(String.init) ?? "none"))")
      }
    }
  }
}
