import DiswotTensor

// The relation Gram Q = rownorm(X Xᵀ): which rows of X (samples, channels, classes) a
// network treats as alike, in a form that does not depend on the length of the rows or
// on their overall scale. DisWOT's relation metric (scoring, `relationMatrix`) and its
// relation loss, SP, ICKD and the class-Gram form of the semantic loss (DiswotDistillation)
// all use this forward, and the losses this backward.
//
//   A = X Xᵀ                  X: [rows, length] -> A: [rows, rows] (symmetric)
//   Q_r = A_r / ‖A_r‖         each row to unit L2 norm; a row of zeros stays zero
//                             (PyTorch's `F.normalize` divides by max(‖A_r‖, ε))
//
// The Gram is one syrk (half the work of a gemm): in Float for scoring (Float accumulation
// over C·H·W terms, as the features are), in Double for the losses; the normalisation and
// the backward pass run in Double.

/// A forward pass's result, with what the backward needs.
public struct RelationGram: Sendable {
  public let rows: Int
  /// rownorm(X Xᵀ): [rows, rows]
  public var q: [Double]
  /// ‖row r of X Xᵀ‖ (0 for a zero row): [rows]
  public var norms: [Double]
}

/// Q = rownorm(X Xᵀ) with the Gram in Double (`BLAS.dsyrkUpper`).
/// x: [rows, length] -> q: [rows, rows], norms: [rows]
public func relation_gram_forward(_ x: UnsafePointer<Double>, rows: Int, length: Int) -> RelationGram {
  var a = [Double](repeating: 0, count: rows * rows)
  a.withUnsafeMutableBufferPointer { ap in
    BLAS.dsyrkUpper(n: rows, k: length, a: x, lda: length, c: ap.baseAddress, ldc: rows)
  }
  for i in 0..<rows {
    for j in (i + 1)..<rows { a[j * rows + i] = a[i * rows + j] }
  }
  return normalizeGramRows(a, rows: rows)
}

/// Q = rownorm(X Xᵀ) with the Gram in Float (`BLAS.ssyrkUpper`), normalised in Double:
/// scoring's precision.
/// x: [rows, length] -> q: [rows, rows], norms: [rows]
public func relation_gram_forward(_ x: UnsafePointer<Float>, rows: Int, length: Int) -> RelationGram {
  var upper = [Float](repeating: 0, count: rows * rows)
  upper.withUnsafeMutableBufferPointer { g in
    BLAS.ssyrkUpper(n: rows, k: length, a: x, lda: length, c: g.baseAddress, ldc: rows)
  }
  // ssyrk fills the upper triangle only; the Gram is symmetric.
  var a = [Double](repeating: 0, count: rows * rows)
  for i in 0..<rows {
    for j in i..<rows {
      a[i * rows + j] = Double(upper[i * rows + j])
      a[j * rows + i] = Double(upper[i * rows + j])
    }
  }
  return normalizeGramRows(a, rows: rows)
}

/// Each row of the symmetric Gram `a` to unit norm, keeping the norms.
/// a: [rows, rows] -> q: [rows, rows], norms: [rows]
private func normalizeGramRows(_ a: [Double], rows: Int) -> RelationGram {
  var a = a
  var norms = [Double](repeating: 0, count: rows)
  for r in 0..<rows {
    var sq = 0.0
    for c in 0..<rows { sq += a[r * rows + c] * a[r * rows + c] }
    guard sq > 0 else { continue }
    let n = sq.squareRoot()
    norms[r] = n
    for c in 0..<rows { a[r * rows + c] /= n }
  }
  return RelationGram(rows: rows, q: a, norms: norms)
}

/// dX from dQ through Q = rownorm(A), A = X Xᵀ (dX overwritten).
///
/// Row normalisation q = a/‖a‖ has Jacobian (I − q qᵀ)/‖a‖, so
///   dA_r = (dQ_r − q_r (q_r·dQ_r)) / ‖a_r‖   (0 for a zero row: q = a/‖a‖ has no
///   derivative at a = 0; we take 0 rather than PyTorch's dQ/ε from its max(‖a‖, ε)).
/// A = X Xᵀ gives dX = (dA + dAᵀ) X, one `BLAS.dgemm`.
/// gram: the forward's result, dQ: [rows, rows], x: [rows, length] -> dX: [rows, length]
public func relation_gram_backward(
  _ gram: RelationGram, dQ: [Double], x: UnsafePointer<Double>, length: Int, into dX: UnsafeMutablePointer<Double>
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

/// DisWOT's relation matrix Q(F) = rownorm(F̃ F̃ᵀ) of a batch of feature maps, F̃ each
/// sample's map flattened (the sample Gram of similarity-preserving KD, Tung & Mori 2019):
/// which probe images a network treats as alike, comparable between a student and any
/// teacher. The Float forward above, rounded to Float.
/// features: [B, C, H, W] (any rank ≥ 1, batch first) -> [B, B]
public func relationMatrix(features: Tensor) throws(ScoringError) -> Tensor {
  guard features.rank >= 1, features.shape[0] > 0, features.count > 0 else {
    throw .invalidArgument("relation matrix needs a non-empty batch of features, got \(features.shape)")
  }
  let b = features.shape[0], length = features.count / b
  let gram = features.withUnsafeBufferPointer { f in relation_gram_forward(f.baseAddress!, rows: b, length: length) }
  var q = Tensor(zeros: [b, b])
  for index in 0..<(b * b) { q.storage[index] = Float(gram.q[index]) }
  return q
}
