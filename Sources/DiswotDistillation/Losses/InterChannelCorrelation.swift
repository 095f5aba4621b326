import DiswotScoring
import DiswotTensor

/// Inter-channel correlation KD (ICKD; Liu et al., ICCV 2021, "Exploring Inter-Channel
/// Correlation for Diversity-Preserved Knowledge Distillation"): the student should keep
/// the teacher's pattern of which channels fire together.
///
/// Per sample b, with F_b the feature map reshaped to [C, H·W] and
/// E_b = rownorm(F_b F_bᵀ) the row-L2-normalised C×C channel Gram,
///
///   loss = Σ_b ‖E_b(S) − E_b(T)‖²_F / (C · B).
///
/// Reduction as the authors' `ICKDLoss.batch_loss` (ADLab-AutoDrive/ICKD
/// `Cifar100/distiller_zoo/ICKD.py`): `torch.bmm(f, fᵀ)`, `F.normalize(·, dim=2)` (rows of
/// each C×C matrix), then `(G_diff * G_diff).view(bsz, -1).sum() / (ch * bsz)` — divided
/// by C·B, not by H·W or C². Their `train_distill` (`Cifar100/helper/loops.py`) applies it
/// to one pair, `feat[-2]` (the last block's output before pooling).
///
/// The reference always passes the student through a learned `Embed` (1×1 conv without
/// bias, then BatchNorm2d) to the teacher's channel count first. This function compares
/// the given maps directly, so student and teacher must have the same C (else
/// `LossError.needsEmbedding`); to use an embedding, pass its output and propagate the
/// gradient through it. H·W may differ between the two (only C×C matrices are compared).
///
/// Gradient per sample: as SP with channels for samples, dE = 2 (E_S − E_T)/(C·B),
/// dF_b = (dA + dAᵀ) F_b after the row-normalisation backward; a channel that is zero
/// everywhere has a zero row in E, whose normalisation contributes no gradient (finite
/// values, never NaN).
/// studentFeatures: [B, C, H_S, W_S], teacherFeatures: [B, C, H_T, W_T] -> gradient like studentFeatures
public func interChannelCorrelationLoss(
  studentFeatures: Tensor, teacherFeatures: Tensor
) throws(LossError) -> LossResult {
  guard studentFeatures.rank == 4, teacherFeatures.rank == 4,
    studentFeatures.shape[0] == teacherFeatures.shape[0],
    studentFeatures.count > 0, teacherFeatures.count > 0
  else {
    throw .shapeMismatch("ICKD needs non-empty [B, C, H, W] student \(studentFeatures.shape) and teacher \(teacherFeatures.shape) features with the same B")
  }
  guard studentFeatures.shape[1] == teacherFeatures.shape[1] else {
    throw .needsEmbedding("ICKD compares channel Grams one to one: student has \(studentFeatures.shape[1]) channels and the teacher \(teacherFeatures.shape[1]); embed the student's features to the teacher's channels (the reference's 1×1 conv + BN) first")
  }
  let (b, c) = (studentFeatures.shape[0], studentFeatures.shape[1])
  let core = LossMath.interChannelCorrelation(
    student: LossMath.doubles(studentFeatures), teacher: LossMath.doubles(teacherFeatures),
    batch: b, channels: c)
  return LossResult(value: core.value, gradient: LossMath.tensor(studentFeatures.shape, core.gradient))
}

extension LossMath {
  /// ICKD in Double; see `interChannelCorrelationLoss`. Samples run in parallel
  /// (`Parallel.forEach`), each writing its own slice of the gradient.
  /// student: [B, C, L_S], teacher: [B, C, L_T] -> value, gradient [B, C, L_S]
  static func interChannelCorrelation(
    student: [Double], teacher: [Double], batch b: Int, channels c: Int
  ) -> (value: Double, gradient: [Double]) {
    let lengthS = student.count / (b * c), lengthT = teacher.count / (b * c)
    let scale = 1 / Double(c * b)
    var gradient = [Double](repeating: 0, count: student.count)
    var perSample = [Double](repeating: 0, count: b)
    student.withUnsafeBufferPointer { s in
      teacher.withUnsafeBufferPointer { t in
        gradient.withUnsafeMutableBufferPointer { g in
          perSample.withUnsafeMutableBufferPointer { v in
            let (sp, tp, gp, vp) = (s.baseAddress!, t.baseAddress!, g.baseAddress!, v.baseAddress!)
            Parallel.forEach(b) { sample in
              let teacherQ = relation_gram_forward(tp + sample * c * lengthT, rows: c, length: lengthT).q
              vp[sample] = teacherQ.withUnsafeBufferPointer { q in
                normalizedGramMatch(
                  sp + sample * c * lengthS, rows: c, length: lengthS, teacherQ: q.baseAddress!,
                  scale: scale, into: gp + sample * c * lengthS)
              }
            }
          }
        }
      }
    }
    return (perSample.reduce(0, +), gradient)
  }
}
