import DiswotScoring
import DiswotTensor

/// Similarity-preserving KD (Tung & Mori, ICCV 2019, "Similarity-Preserving Knowledge
/// Distillation"): the student should find the same pairs of images alike as the teacher.
///
/// With F̃ each sample's feature map flattened ([B, C·H·W]) and G = rownorm(F̃ F̃ᵀ) the
/// row-L2-normalised B×B sample Gram,
///
///   loss = ‖G_S − G_T‖²_F / B².
///
/// Reduction as RepDistiller's `Similarity.similarity_loss` (HobbitLong/RepDistiller
/// `distiller_zoo/SP.py`): `F.normalize(f_s @ f_sᵀ)` (rows, dim 1), then
/// `(G_diff * G_diff).view(-1, 1).sum(0) / (bsz * bsz)`. RepDistiller sums this over the
/// listed layer pairs and its `train_distill` (`helper/loops.py`) lists one pair,
/// `feat[-2]`, the last block's output before pooling; we take that one pair. Student
/// and teacher may differ in channels and resolution (only B×B matrices are compared).
///
/// Gradient: dG = 2 (G_S − G_T)/B²; through the row normalisation
/// dA_r = (dG_r − g_r (g_r·dG_r))/‖a_r‖; through A = F̃ F̃ᵀ, dF̃ = (dA + dAᵀ) F̃.
/// A sample whose features are all zero has a zero row in G; that row's normalisation
/// (not differentiable at 0) contributes no gradient, while the other rows' dependence on
/// the sample still does (PyTorch's `max(‖a‖, 1e-12)` clamp would add dG_r/1e-12 instead).
/// The DisWOT relation distance is this same quantity (`diswotRelationLoss`).
/// studentFeatures: [B, …], teacherFeatures: [B, …] (same B) -> gradient like studentFeatures
public func similarityPreservingLoss(
  studentFeatures: Tensor, teacherFeatures: Tensor
) throws(LossError) -> LossResult {
  guard studentFeatures.rank >= 2, teacherFeatures.rank >= 2, studentFeatures.shape[0] > 0,
    studentFeatures.shape[0] == teacherFeatures.shape[0],
    studentFeatures.count > 0, teacherFeatures.count > 0
  else {
    throw .shapeMismatch("similarity-preserving loss needs student \(studentFeatures.shape) and teacher \(teacherFeatures.shape) features with the same non-empty batch")
  }
  let b = studentFeatures.shape[0]
  let core = LossMath.similarityPreserving(
    student: LossMath.doubles(studentFeatures), teacher: LossMath.doubles(teacherFeatures), batch: b)
  return LossResult(value: core.value, gradient: LossMath.tensor(studentFeatures.shape, core.gradient))
}

extension LossMath {
  /// SP in Double; see `similarityPreservingLoss`.
  /// student: [B, L_S], teacher: [B, L_T] flattened -> value, gradient [B, L_S]
  static func similarityPreserving(
    student: [Double], teacher: [Double], batch b: Int
  ) -> (value: Double, gradient: [Double]) {
    let teacherQ = teacher.withUnsafeBufferPointer { t in
      relation_gram_forward(t.baseAddress!, rows: b, length: teacher.count / b).q
    }
    return relationMatch(student: student, batch: b, teacherQ: teacherQ)
  }

  /// ‖rownorm(F̃ F̃ᵀ) − Q_T‖²_F / B² and its gradient with respect to F̃.
  /// student: [B, L], teacherQ: [B, B] -> value, gradient [B, L]
  static func relationMatch(
    student: [Double], batch b: Int, teacherQ: [Double]
  ) -> (value: Double, gradient: [Double]) {
    var gradient = [Double](repeating: 0, count: student.count)
    let value = student.withUnsafeBufferPointer { s in
      teacherQ.withUnsafeBufferPointer { q in
        gradient.withUnsafeMutableBufferPointer { g in
          normalizedGramMatch(
            s.baseAddress!, rows: b, length: student.count / b, teacherQ: q.baseAddress!,
            scale: 1 / Double(b * b), into: g.baseAddress!)
        }
      }
    }
    return (value, gradient)
  }
}
