import DiswotTensor
import XCTest

/// `BLAS` and `LAPACK`, the one door to OpenBLAS: each wrapper against a plain loop
/// (transposes, strides, alpha and beta, the triangle syrk leaves alone).
final class BLASTests: XCTestCase {
  private func values(_ count: Int, seed: UInt64) -> [Double] {
    var rng = SeededGenerator(seed: seed)
    return Tensor.uniform([count], low: -1, high: 1, using: &rng).storage.map(Double.init)
  }

  func testGemmMatchesLoopsWithTransposesStridesAlphaAndBeta() {
    let (m, n, k) = (3, 4, 5)
    for transposeA in [false, true] {
      for transposeB in [false, true] {
        // Stored with one column of padding per row, to exercise the strides.
        let lda = (transposeA ? m : k) + 1, ldb = (transposeB ? k : n) + 1, ldc = n + 1
        let a = values((transposeA ? k : m) * lda, seed: 1), b = values((transposeB ? n : k) * ldb, seed: 2)
        let c0 = values(m * ldc, seed: 3)
        func at(_ x: [Double], _ ld: Int, _ r: Int, _ c: Int, _ t: Bool) -> Double { t ? x[c * ld + r] : x[r * ld + c] }
        var expected = c0
        for i in 0..<m {
          for j in 0..<n {
            var sum = 0.0
            for p in 0..<k { sum += at(a, lda, i, p, transposeA) * at(b, ldb, p, j, transposeB) }
            expected[i * ldc + j] = 0.5 * sum + 2 * c0[i * ldc + j]
          }
        }
        var d = c0
        BLAS.dgemm(
          transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb,
          beta: 2, c: &d, ldc: ldc)
        for i in 0..<d.count { XCTAssertEqual(d[i], expected[i], accuracy: 1e-12, "dgemm \(transposeA) \(transposeB) [\(i)]") }

        var s = c0.map(Float.init)
        BLAS.sgemm(
          transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.5, a: a.map(Float.init), lda: lda,
          b: b.map(Float.init), ldb: ldb, beta: 2, c: &s, ldc: ldc)
        for i in 0..<s.count { XCTAssertEqual(Double(s[i]), expected[i], accuracy: 1e-5, "sgemm \(transposeA) \(transposeB) [\(i)]") }
      }
    }
  }

  func testSyrkFillsTheUpperTriangleOnly() {
    let (n, k) = (4, 6)
    let a = values(n * k, seed: 4)
    let sentinel = -7.0
    var d = [Double](repeating: sentinel, count: n * n)
    BLAS.dsyrkUpper(n: n, k: k, a: a, lda: k, c: &d, ldc: n)
    var s = [Float](repeating: Float(sentinel), count: n * n)
    BLAS.ssyrkUpper(n: n, k: k, a: a.map(Float.init), lda: k, c: &s, ldc: n)
    for i in 0..<n {
      for j in 0..<n {
        if j < i {
          XCTAssertEqual(d[i * n + j], sentinel, "dsyrk wrote below the diagonal")
          XCTAssertEqual(Double(s[i * n + j]), sentinel, "ssyrk wrote below the diagonal")
          continue
        }
        var dot = 0.0
        for p in 0..<k { dot += a[i * k + p] * a[j * k + p] }
        XCTAssertEqual(d[i * n + j], dot, accuracy: 1e-12)
        XCTAssertEqual(Double(s[i * n + j]), dot, accuracy: 1e-5)
      }
    }
  }

  func testSymmetricEigenvalues() throws {
    XCTAssertEqual(LAPACK.symmetricEigenvalues([], order: 0), [])
    let values = try XCTUnwrap(LAPACK.symmetricEigenvalues([2, 1, 1, 2], order: 2))
    XCTAssertEqual(values[0], 1, accuracy: 1e-12)
    XCTAssertEqual(values[1], 3, accuracy: 1e-12)
  }
}
