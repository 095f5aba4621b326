#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DiswotTensor

/// Double-precision building blocks shared by the losses.
///
/// Every loss is computed in Double from Float inputs: the values are sums of many
/// small squared differences (after row normalisation) whose Float rounding would be
/// visible in the loss and, more importantly, would make finite-difference checks of
/// the analytic gradients meaningless. Gradients are rounded to Float only at the end.
enum LossMath {
  /// The elements of `t` widened to Double.
  static func doubles(_ t: Tensor) -> [Double] {
    t.withUnsafeBufferPointer { p in p.map { Double($0) } }
  }

  /// A Float tensor of `shape` from Double values (rounded to nearest).
  static func tensor(_ shape: [Int], _ values: [Double]) -> Tensor {
    var t = Tensor(zeros: shape)
    t.withUnsafeMutableBufferPointer { p in
      for i in 0..<values.count { p[i] = Float(values[i]) }
    }
    return t
  }

  /// Row-wise softmax of a [rows, columns] matrix at temperature `temperature`, with the
  /// row's log-sum-exp also returned so log-probabilities are x/T − lse (stable: each
  /// row's maximum is subtracted before exponentiation).
  /// x: [rows, columns] -> probabilities [rows, columns], logSumExp [rows] (of x/T)
  static func softmaxRows(
    _ x: [Double], rows: Int, columns: Int, temperature: Double = 1
  ) -> (probabilities: [Double], logSumExp: [Double]) {
    var p = [Double](repeating: 0, count: rows * columns)
    var lse = [Double](repeating: 0, count: rows)
    for r in 0..<rows {
      let base = r * columns
      var top = -Double.infinity
      for j in 0..<columns { top = max(top, x[base + j] / temperature) }
      var sum = 0.0
      for j in 0..<columns {
        let e = exp(x[base + j] / temperature - top)
        p[base + j] = e
        sum += e
      }
      for j in 0..<columns { p[base + j] /= sum }
      lse[r] = top + log(sum)
    }
    return (p, lse)
  }

  /// Q = rownorm(X Xᵀ) for a row-major [rows, length] X, with the Gram rows' norms
  /// kept for the backward pass. A row of zeros stays zero (norm 0), as in
  /// DiswotScoring's `normalizeRows` and as PyTorch's `F.normalize` gives it.
  struct NormalizedGram {
    let rows: Int
    /// rownorm(X Xᵀ): [rows, rows]
    var q: [Double]
    /// ‖row r of X Xᵀ‖ (0 for a zero row): [rows]
    var norms: [Double]
  }

  /// X Xᵀ by `BLAS.dsyrkUpper` (upper triangle, mirrored), then each row scaled to unit norm.
  /// x: [rows, length] -> NormalizedGram
  static func normalizedGram(_ x: UnsafePointer<Double>, rows: Int, length: Int) -> NormalizedGram {
    var a = [Double](repeating: 0, count: rows * rows)
    a.withUnsafeMutableBufferPointer { ap in
      BLAS.dsyrkUpper(n: rows, k: length, a: x, lda: length, c: ap.baseAddress, ldc: rows)
    }
    for i in 0..<rows {
      for j in (i + 1)..<rows { a[j * rows + i] = a[i * rows + j] }
    }
    var norms = [Double](repeating: 0, count: rows)
    for r in 0..<rows {
      var sq = 0.0
      for c in 0..<rows { sq += a[r * rows + c] * a[r * rows + c] }
      guard sq > 0 else { continue }
      let n = sq.squareRoot()
      norms[r] = n
      for c in 0..<rows { a[r * rows + c] /= n }
    }
    return NormalizedGram(rows: rows, q: a, norms: norms)
  }

  /// Back-propagates dQ through Q = rownorm(A), A = X Xᵀ, into dX (overwritten).
  ///
  /// Row normalisation q = a/‖a‖ has Jacobian (I − q qᵀ)/‖a‖, so
  ///   dA_r = (dQ_r − q_r (q_r·dQ_r)) / ‖a_r‖   (0 for a zero row: q = a/‖a‖ has no
  ///   derivative at a = 0; we take 0 rather than PyTorch's dQ/ε from its max(‖a‖, ε)).
  /// A = X Xᵀ gives dX = (dA + dAᵀ) X, one `BLAS.dgemm`.
  /// x: [rows, length], dQ: [rows, rows] -> dX: [rows, length]
  static func normalizedGramBackward(
    _ gram: NormalizedGram, dQ: [Double], x: UnsafePointer<Double>, length: Int,
    into dX: UnsafeMutablePointer<Double>
  ) {
    let rows = gram.rows
    var dA = [Double](repeating: 0, count: rows * rows)
    for r in 0..<rows where gram.norms[r] > 0 {
      let base = r * rows
      var dot = 0.0
      for c in 0..<rows { dot += gram.q[base + c] * dQ[base + c] }
      let inverse = 1 / gram.norms[r]
      for c in 0..<rows { dA[base + c] = (dQ[base + c] - gram.q[base + c] * dot) * inverse }
    }
    // S = dA + dAᵀ (symmetric).
    var s = [Double](repeating: 0, count: rows * rows)
    for i in 0..<rows {
      for j in 0..<rows { s[i * rows + j] = dA[i * rows + j] + dA[j * rows + i] }
    }
    s.withUnsafeBufferPointer { sp in
      BLAS.dgemm(m: rows, n: length, k: rows, a: sp.baseAddress, lda: rows, b: x, ldb: length, c: dX, ldc: length)
    }
  }

  /// scale · ‖rownorm(X Xᵀ) − Q_T‖²_F and its gradient with respect to X (written to dX).
  ///
  /// The one kernel behind SP, ICKD (per sample), the DisWOT relation loss and the
  /// class-Gram form of the DisWOT semantic loss; they differ only in what the rows of X
  /// are (samples, channels, classes) and in `scale` (1/B², 1/(C·B), 1/K²).
  /// x: [rows, length], teacherQ: [rows, rows] -> value; dX: [rows, length]
  static func normalizedGramMatch(
    _ x: UnsafePointer<Double>, rows: Int, length: Int, teacherQ: UnsafePointer<Double>,
    scale: Double, into dX: UnsafeMutablePointer<Double>
  ) -> Double {
    let gram = normalizedGram(x, rows: rows, length: length)
    var dQ = [Double](repeating: 0, count: rows * rows)
    var sum = 0.0
    for i in 0..<(rows * rows) {
      let d = gram.q[i] - teacherQ[i]
      sum += d * d
      dQ[i] = 2 * scale * d
    }
    normalizedGramBackward(gram, dQ: dQ, x: x, length: length, into: dX)
    return sum * scale
  }
}
