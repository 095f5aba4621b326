import DiswotScoring
import DiswotTensor

/// The DisWOT semantic distance as a training loss, with its gradients.
public struct DisWOTSemanticLoss: Sendable, Equatable {
  /// Exactly `semanticDistance(student: classifierGradient(…), teacher: …).value` from
  /// DiswotScoring, so training logs and search scores agree to the last bit.
  public let value: Double
  /// Which form was compared (per-class when the channel counts agree).
  public let form: SemanticForm
  /// ∂value/∂z: [B, K]
  public let logitsGradient: Tensor
  /// ∂value/∂h, h the globally averaged last feature map: [B, C]
  public let pooledGradient: Tensor
}

/// DisWOT's semantic similarity distance (Dong et al., CVPR 2023, "DisWOT: Student
/// Architecture Search for Distillation WithOut Training") used as a distillation loss.
///
/// The student's class gradient is G = (softmax(z) − onehot(y))ᵀ h / B ([K, C], the
/// gradient of the mean cross-entropy with respect to the classifier weight, as
/// `classifierGradient`), compared with the teacher's exactly as scoring does
/// (`semanticDistance`):
///   per-class (C_S = C_T, not forced): Σ_k ‖E_k(S) − E_k(T)‖²_F / (C·K),
///     E_k = rownorm(g_k g_kᵀ) = σ_k u_kᵀ, σ = sign(g_k), u = g_k/‖g_k‖;
///   class-Gram (C_S ≠ C_T, or forced): ‖rownorm(G_S G_Sᵀ) − rownorm(G_T G_Tᵀ)‖²_F / K².
/// The value comes from DiswotScoring's own functions; the gradient from a Double
/// re-computation of the same formulas.
///
/// Gradient of the per-class form. Per class (both rows nonzero) the distance is
/// D = ‖σ_S − σ_T‖² + (σ_S·σ_T) ‖u_S − u_T‖². σ is piecewise constant (its derivative is
/// zero wherever no entry of g_S is exactly 0, i.e. almost everywhere), so only u_S
/// moves; with ∂u/∂g = (I − u uᵀ)/‖g‖,
///   ∂D/∂g_S = 2 (σ_S·σ_T)/‖g_S‖ · (d − u_S (u_S·d)),  d = u_S − u_T.
/// When either row is zero D = ‖σ_S − σ_T‖² is constant and the gradient is 0 (in
/// particular g_S = 0 gives 0, never NaN). The class-Gram form back-propagates through
/// the row-normalised Gram like SP (rows = classes).
/// Then with Γ = ∂L/∂G and R = softmax(z) − onehot(y):
///   ∂L/∂h = R Γ / B,   ∂L/∂R = h Γᵀ / B,   ∂L/∂z_i = p_i ⊙ (∂L/∂R_i − (p_i·∂L/∂R_i)).
/// Because σ jumps where an entry of G crosses zero, the loss is discontinuous there
/// (by at most 4/(C·K) per crossing); the gradient is the one of the smooth piece.
///
/// A trainer maps ∂L/∂h to the feature map by spreading it over positions
/// (`spreadPooledGradient`), or uses `diswotDistillationLoss`, which does that itself.
/// studentLogits: [B, K], studentPooled: [B, C_S], labels: B values in 0..<K,
/// teacherClassGradient: [K, C_T] (`TeacherReference.classGradient`)
public func diswotSemanticLoss(
  studentLogits: Tensor, studentPooled: Tensor, labels: [Int], teacherClassGradient: Tensor,
  forceClassGram: Bool = false
) throws(LossError) -> DisWOTSemanticLoss {
  let (b, k) = try validateLogits(studentLogits, labels: labels)
  guard studentPooled.rank == 2, studentPooled.shape[0] == b, studentPooled.shape[1] > 0 else {
    throw .shapeMismatch("pooled features \(studentPooled.shape) must be [B, C] for logits \(studentLogits.shape)")
  }
  guard teacherClassGradient.rank == 2, teacherClassGradient.shape[0] == k, teacherClassGradient.shape[1] > 0 else {
    throw .shapeMismatch("teacher class gradient \(teacherClassGradient.shape) must be [K, C_T] with K = \(k)")
  }
  let value: SemanticDistance
  do throws(ScoringError) {
    let g = try classifierGradient(pooled: studentPooled, logits: studentLogits, labels: labels)
    value = try semanticDistance(student: g, teacher: teacherClassGradient, forceClassGram: forceClassGram)
  } catch {
    throw LossError(error)
  }
  let c = studentPooled.shape[1]
  let core = LossMath.diswotSemantic(
    logits: LossMath.doubles(studentLogits), pooled: LossMath.doubles(studentPooled),
    batch: b, classes: k, channels: c, labels: labels,
    teacherGradient: LossMath.doubles(teacherClassGradient),
    teacherChannels: teacherClassGradient.shape[1], forceClassGram: forceClassGram)
  return DisWOTSemanticLoss(
    value: value.value, form: value.form,
    logitsGradient: LossMath.tensor([b, k], core.logitsGradient),
    pooledGradient: LossMath.tensor([b, c], core.pooledGradient))
}

extension LossMath {
  /// The DisWOT semantic loss in Double: value, form and gradients; see `diswotSemanticLoss`.
  /// logits: [B, K], pooled: [B, C], teacherGradient: [K, C_T]
  static func diswotSemantic(
    logits z: [Double], pooled h: [Double], batch b: Int, classes k: Int, channels c: Int,
    labels: [Int], teacherGradient gt: [Double], teacherChannels cT: Int, forceClassGram: Bool
  ) -> (value: Double, form: SemanticForm, logitsGradient: [Double], pooledGradient: [Double]) {
    // R = softmax(z) − onehot(y): [B, K]
    let p = softmaxRows(z, rows: b, columns: k).probabilities
    var r = p
    for i in 0..<b { r[i * k + labels[i]] -= 1 }
    // G = Rᵀ h / B: [K, C]
    var g = [Double](repeating: 0, count: k * c)
    for i in 0..<b {
      for j in 0..<k {
        let rij = r[i * k + j]
        for ch in 0..<c { g[j * c + ch] += rij * h[i * c + ch] }
      }
    }
    for index in 0..<g.count { g[index] /= Double(b) }

    // Γ = ∂L/∂G: [K, C]
    var gamma = [Double](repeating: 0, count: k * c)
    let value: Double
    let form: SemanticForm
    if forceClassGram || c != cT {
      form = .classGram
      let teacherQ = gt.withUnsafeBufferPointer { t in relation_gram_forward(t.baseAddress!, rows: k, length: cT).q }
      value = g.withUnsafeBufferPointer { gp in
        teacherQ.withUnsafeBufferPointer { q in
          gamma.withUnsafeMutableBufferPointer { d in
            normalizedGramMatch(
              gp.baseAddress!, rows: k, length: c, teacherQ: q.baseAddress!,
              scale: 1 / Double(k * k), into: d.baseAddress!)
          }
        }
      }
    } else {
      form = .perClass
      let scale = 1 / Double(c * k)
      var total = 0.0
      for row in 0..<k {
        let base = row * c
        var sqS = 0.0, sqT = 0.0
        for i in 0..<c {
          sqS += g[base + i] * g[base + i]
          sqT += gt[base + i] * gt[base + i]
        }
        var signDistance = 0.0, signDot = 0.0
        for i in 0..<c {
          let σs = sign(g[base + i]), σt = sign(gt[base + i])
          signDistance += (σs - σt) * (σs - σt)
          signDot += σs * σt
        }
        guard sqS > 0, sqT > 0 else {
          total += signDistance
          continue
        }
        let normS = sqS.squareRoot(), normT = sqT.squareRoot()
        var unitDistance = 0.0, uDotD = 0.0
        var d = [Double](repeating: 0, count: c)
        for i in 0..<c {
          d[i] = g[base + i] / normS - gt[base + i] / normT
          unitDistance += d[i] * d[i]
          uDotD += g[base + i] / normS * d[i]
        }
        total += signDistance + signDot * unitDistance
        let factor = 2 * signDot / normS * scale
        for i in 0..<c { gamma[base + i] = factor * (d[i] - g[base + i] / normS * uDotD) }
      }
      value = total * scale
    }

    // ∂L/∂h = R Γ / B: [B, C];  ∂L/∂R = h Γᵀ / B: [B, K]
    var dh = [Double](repeating: 0, count: b * c)
    var dz = [Double](repeating: 0, count: b * k)
    for i in 0..<b {
      for j in 0..<k {
        let rij = r[i * k + j]
        var dr = 0.0
        for ch in 0..<c {
          dh[i * c + ch] += rij * gamma[j * c + ch]
          dr += h[i * c + ch] * gamma[j * c + ch]
        }
        dz[i * k + j] = dr / Double(b)
      }
      for ch in 0..<c { dh[i * c + ch] /= Double(b) }
      // Softmax backward: dz_j = p_j (dR_j − Σ_l p_l dR_l).
      var dot = 0.0
      for j in 0..<k { dot += p[i * k + j] * dz[i * k + j] }
      for j in 0..<k { dz[i * k + j] = p[i * k + j] * (dz[i * k + j] - dot) }
    }
    return (value, form, dz, dh)
  }

  /// sign(x) as −1, 0 or 1.
  static func sign(_ x: Double) -> Double { x > 0 ? 1 : (x < 0 ? -1 : 0) }
}
