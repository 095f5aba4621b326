import DiswotTensor

/// The row-normalised sample Gram Q = rownorm(F̃ F̃ᵀ) of similarity-preserving KD
/// (Tung & Mori 2019), F̃ being each sample's feature map flattened.
///
/// It says which probe images a network treats as alike, in a form that does not depend
/// on the network's channels or resolution, so a student can be compared with any
/// teacher. The Gram is one `BLAS.ssyrkUpper` (half the work of sgemm, Float accumulation
/// over C·H·W terms); the normalisation runs in Double.
/// features: [B, C, H, W] (any rank ≥ 1, batch first) -> [B, B]
public func relationMatrix(features: Tensor) throws(ScoringError) -> Tensor {
  guard features.rank >= 1, features.shape[0] > 0, features.count > 0 else {
    throw .invalidArgument("relation matrix needs a non-empty batch of features, got \(features.shape)")
  }
  let b = features.shape[0], length = features.count / b
  var upper = [Float](repeating: 0, count: b * b)
  features.withUnsafeBufferPointer { f in
    upper.withUnsafeMutableBufferPointer { g in
      BLAS.ssyrkUpper(n: b, k: length, a: f.baseAddress, lda: length, c: g.baseAddress, ldc: b)
    }
  }
  // ssyrk fills the upper triangle only; the Gram is symmetric.
  var gram = [Double](repeating: 0, count: b * b)
  for i in 0..<b {
    for j in i..<b {
      gram[i * b + j] = Double(upper[i * b + j])
      gram[j * b + i] = Double(upper[i * b + j])
    }
  }
  normalizeRows(&gram, rows: b, columns: b)
  var q = Tensor(zeros: [b, b])
  for index in 0..<(b * b) { q.storage[index] = Float(gram[index]) }
  return q
}

/// ‖Q(S) − Q(T)‖²_F / B² between two relation matrices of the same probe batch.
/// student, teacher: [B, B] (`relationMatrix`)
public func relationDistance(student: Tensor, teacher: Tensor) throws(ScoringError) -> Double {
  guard student.rank == 2, student.shape[0] == student.shape[1], student.shape == teacher.shape,
    student.count > 0
  else {
    throw .shapeMismatch("relation matrices \(student.shape) (student) and \(teacher.shape) (teacher) must both be [B, B] for the same B > 0")
  }
  var sum = 0.0
  for i in 0..<student.count {
    let d = Double(student.storage[i]) - Double(teacher.storage[i])
    sum += d * d
  }
  return sum / Double(student.count)
}
