#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DiswotTensor

/// Hinton et al. 2015, "Distilling the Knowledge in a Neural Network": the temperature-
/// softened KL divergence from the teacher's class distribution to the student's,
///
///   loss = T² / B · Σ_i KL(softmax(t_i/T) ‖ softmax(s_i/T))
///        = T² / B · Σ_i Σ_j p_t,ij (log p_t,ij − log p_s,ij),
///   ∂loss/∂s = T · (softmax(s/T) − softmax(t/T)) / B.
///
/// Reduction as RepDistiller's `DistillKL` (HobbitLong/RepDistiller `distiller_zoo/KD.py`):
/// `F.kl_div(log_softmax(y_s/T), softmax(y_t/T), size_average=False) * T**2 / y_s.shape[0]`,
/// i.e. summed over every element, then divided by the batch size ("batchmean") and
/// scaled by T² so the gradient magnitude does not shrink as T grows. A teacher
/// probability of exactly 0 contributes 0 (`kl_div` uses 0·log 0 = 0).
/// The value is ≥ 0 and exactly 0 when s = t.
/// studentLogits, teacherLogits: [B, K]; temperature T > 0 (RepDistiller's `--kd_T` = 4)
public func hintonKDLoss(
  studentLogits: Tensor, teacherLogits: Tensor, temperature: Double
) throws(LossError) -> LossResult {
  guard studentLogits.rank == 2, studentLogits.shape == teacherLogits.shape,
    studentLogits.count > 0
  else {
    throw .shapeMismatch("student logits \(studentLogits.shape) and teacher logits \(teacherLogits.shape) must both be the same non-empty [B, K]")
  }
  guard temperature > 0, temperature.isFinite else {
    throw .invalidArgument("KD temperature \(temperature) must be positive and finite")
  }
  let (b, k) = (studentLogits.shape[0], studentLogits.shape[1])
  let core = LossMath.hintonKD(
    student: LossMath.doubles(studentLogits), teacher: LossMath.doubles(teacherLogits),
    batch: b, classes: k, temperature: temperature)
  return LossResult(value: core.value, gradient: LossMath.tensor([b, k], core.gradient))
}

extension LossMath {
  /// Hinton KD in Double; see `hintonKDLoss`.
  /// student, teacher: [B, K] -> value, gradient [B, K]
  static func hintonKD(
    student s: [Double], teacher t: [Double], batch b: Int, classes k: Int, temperature τ: Double
  ) -> (value: Double, gradient: [Double]) {
    let (ps, lseS) = softmaxRows(s, rows: b, columns: k, temperature: τ)
    let (pt, lseT) = softmaxRows(t, rows: b, columns: k, temperature: τ)
    var sum = 0.0
    var gradient = [Double](repeating: 0, count: b * k)
    for i in 0..<b {
      for j in 0..<k {
        let index = i * k + j
        if pt[index] > 0 {
          let logPT = t[index] / τ - lseT[i], logPS = s[index] / τ - lseS[i]
          sum += pt[index] * (logPT - logPS)
        }
        gradient[index] = τ * (ps[index] - pt[index]) / Double(b)
      }
    }
    return (sum * τ * τ / Double(b), gradient)
  }
}
