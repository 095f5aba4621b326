import DiswotScoring
import DiswotTensor

/// DisWOT's relation (sample-similarity) distance as a training loss (Dong et al.,
/// CVPR 2023): ‖Q_S − Q_T‖²_F / B² with Q = rownorm(F̃ F̃ᵀ) the row-normalised sample
/// Gram of the last feature map — the SP loss's formula (`similarityPreservingLoss`),
/// with the teacher given as its precomputed relation matrix.
///
/// The value is exactly DiswotScoring's
/// `relationDistance(student: relationMatrix(features: F), teacher: Q_T)` (a Float
/// `ssyrk` Gram, so it can differ from the all-Double SP value in the 6th–7th digit);
/// the gradient is SP's, computed in Double against Q_T:
/// dQ = 2 (Q_S − Q_T)/B², row-normalisation backward, dF̃ = (dA + dAᵀ) F̃.
/// studentFeatures: [B, C, H, W] (any rank ≥ 2, batch first),
/// teacherRelation: [B, B] (`TeacherReference.relation`) -> gradient like studentFeatures
public func diswotRelationLoss(studentFeatures: Tensor, teacherRelation: Tensor) throws(LossError) -> LossResult {
  guard studentFeatures.rank >= 2, studentFeatures.count > 0,
    teacherRelation.shape == [studentFeatures.shape[0], studentFeatures.shape[0]]
  else {
    throw .shapeMismatch("relation loss needs non-empty student features [B, …] (got \(studentFeatures.shape)) and a teacher relation matrix [B, B] (got \(teacherRelation.shape))")
  }
  let value: Double
  do throws(ScoringError) {
    value = try relationDistance(student: try relationMatrix(features: studentFeatures), teacher: teacherRelation)
  } catch {
    throw LossError(error)
  }
  let core = LossMath.relationMatch(
    student: LossMath.doubles(studentFeatures), batch: studentFeatures.shape[0],
    teacherQ: LossMath.doubles(teacherRelation))
  return LossResult(value: value, gradient: LossMath.tensor(studentFeatures.shape, core.gradient))
}
