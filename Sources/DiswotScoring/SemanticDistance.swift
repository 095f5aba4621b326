import DiswotTensor

/// Which comparison `semanticDistance` made.
public enum SemanticForm: String, Sendable, Codable {
  /// Per class k: the row-normalised C×C outer product of the gradient row g_k
  /// (student and teacher must have the same C).
  case perClass = "per-class"
  /// The row-normalised K×K Gram of the gradient rows (any C on either side).
  case classGram = "class-gram"
}

/// DisWOT's semantic distance and the form it was computed in.
public struct SemanticDistance: Sendable, Equatable, Codable {
  public let value: Double
  public let form: SemanticForm
}

/// How far apart the student's and the teacher's class-activation similarities are.
///
/// Per-class form (when both have C channels and `forceClassGram` is false): with g_k the
/// k-th row of G and E_k = rownorm(g_k g_kᵀ), distance = Σ_k ‖E_k(S) − E_k(T)‖²_F / (C·K).
/// Class-Gram form (when C differs, or when forced for comparisons): with
/// A = rownorm(G Gᵀ), distance = ‖A(S) − A(T)‖²_F / K².
/// student, teacher: classifier gradients [K, C_S] and [K, C_T] (`classifierGradient`)
public func semanticDistance(
  student: Tensor, teacher: Tensor, forceClassGram: Bool = false
) throws(ScoringError) -> SemanticDistance {
  guard student.rank == 2, teacher.rank == 2, student.shape[0] == teacher.shape[0] else {
    throw .shapeMismatch("class gradients \(student.shape) (student) and \(teacher.shape) (teacher) must be [K, C] with the same K")
  }
  guard student.count > 0, teacher.count > 0 else {
    throw .invalidArgument("empty class gradient: student \(student.shape), teacher \(teacher.shape)")
  }
  if forceClassGram || student.shape[1] != teacher.shape[1] {
    return SemanticDistance(value: classGramDistance(student, teacher), form: .classGram)
  }
  return SemanticDistance(value: perClassDistance(student, teacher), form: .perClass)
}

/// Σ_k ‖E_k(S) − E_k(T)‖²_F / (C·K) in O(K·C), without forming any C×C matrix.
///
/// Row i of g gᵀ is g[i]·g, of norm |g[i]|·‖g‖, so its normalised form is σ[i]·u with
/// σ = sign(g) (sign 0 = 0) and u = g/‖g‖; when g[i] = 0 the row is zero, which σ[i] = 0
/// also gives, and when g = 0 everything is zero (take u = 0). Hence E = σ uᵀ, and with
/// ‖a bᵀ‖²_F = ‖a‖²‖b‖², ⟨a bᵀ, c dᵀ⟩_F = (a·c)(b·d):
///   ‖E(S) − E(T)‖²_F = n_S·a_S + n_T·a_T − 2 (σ_S·σ_T)(u_S·u_T),
/// n = ‖σ‖² = number of nonzero entries, a = ‖u‖² (1, or 0 when g = 0).
/// If either g is zero the cross term vanishes and the distance is n_S + n_T (the zero
/// side has n = 0). Otherwise a = 1, and writing u_S·u_T = 1 − ‖u_S − u_T‖²/2 and
/// n_S + n_T − 2 σ_S·σ_T = ‖σ_S − σ_T‖² turns it into
///   ‖σ_S − σ_T‖² + (σ_S·σ_T) ‖u_S − u_T‖²,
/// which is the same value without the cancellation of the first form: identical
/// gradients give exactly 0.
/// s, t: [K, C]
private func perClassDistance(_ s: Tensor, _ t: Tensor) -> Double {
  let (k, c) = (s.shape[0], s.shape[1])
  var total = 0.0
  s.withUnsafeBufferPointer { sp in
    t.withUnsafeBufferPointer { tp in
      for row in 0..<k {
        let gs = sp.baseAddress! + row * c, gt = tp.baseAddress! + row * c
        var normS = 0.0, normT = 0.0
        for i in 0..<c {
          normS += Double(gs[i]) * Double(gs[i])
          normT += Double(gt[i]) * Double(gt[i])
        }
        var signDistance = 0.0, signDot = 0.0, unitDistance = 0.0
        let inverseS = normS > 0 ? 1 / normS.squareRoot() : 0
        let inverseT = normT > 0 ? 1 / normT.squareRoot() : 0
        for i in 0..<c {
          let σs = sign(gs[i]), σt = sign(gt[i])
          signDistance += (σs - σt) * (σs - σt)
          signDot += σs * σt
          let d = Double(gs[i]) * inverseS - Double(gt[i]) * inverseT
          unitDistance += d * d
        }
        // With a zero side σ of that side is 0, so ‖σ_S − σ_T‖² is n_S + n_T and the
        // cross term must be dropped (u_S − u_T is not a difference of unit vectors).
        total += (normS > 0 && normT > 0) ? signDistance + signDot * unitDistance : signDistance
      }
    }
  }
  return total / Double(c * k)
}

/// sign(x) as -1, 0 or 1.
private func sign(_ x: Float) -> Double {
  x > 0 ? 1 : (x < 0 ? -1 : 0)
}

/// ‖rownorm(S Sᵀ) − rownorm(T Tᵀ)‖²_F / K²; K²·C is small, so plain Double loops.
/// s: [K, C_S], t: [K, C_T]
private func classGramDistance(_ s: Tensor, _ t: Tensor) -> Double {
  let k = s.shape[0]
  let a = rowNormalizedGram(s), b = rowNormalizedGram(t)
  return squaredDistance(a, b) / Double(k * k)
}

/// rownorm(M Mᵀ) in Double. m: [R, L] -> [R, R] row-major
private func rowNormalizedGram(_ m: Tensor) -> [Double] {
  let (rows, length) = (m.shape[0], m.shape[1])
  var gram = [Double](repeating: 0, count: rows * rows)
  m.withUnsafeBufferPointer { p in
    for i in 0..<rows {
      for j in i..<rows {
        var dot = 0.0
        for l in 0..<length { dot += Double(p[i * length + l]) * Double(p[j * length + l]) }
        gram[i * rows + j] = dot
        gram[j * rows + i] = dot
      }
    }
  }
  normalizeRows(&gram, rows: rows, columns: rows)
  return gram
}

/// The per-class distance by its literal definition, materialising every C×C matrix
/// E_k; O(K·C²), for tests of the closed form above.
/// student, teacher: [K, C]
func semanticDistanceReference(student: Tensor, teacher: Tensor) -> Double {
  let (k, c) = (student.shape[0], student.shape[1])
  var total = 0.0
  for row in 0..<k {
    func e(_ g: Tensor) -> [Double] {
      var outer = [Double](repeating: 0, count: c * c)
      for i in 0..<c {
        for j in 0..<c { outer[i * c + j] = Double(g[row, i]) * Double(g[row, j]) }
      }
      normalizeRows(&outer, rows: c, columns: c)
      return outer
    }
    total += squaredDistance(e(student), e(teacher))
  }
  return total / Double(c * k)
}
