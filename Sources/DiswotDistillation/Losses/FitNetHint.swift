import DiswotTensor

/// FitNets hint loss (Romero et al. 2015, "FitNets: Hints for Thin Deep Nets"): the mean
/// squared error between the regressed student feature map r(F_s) and the teacher's F_t,
///
///   loss = (1/N) Σ (r(F_s) − F_t)²,   ∂loss/∂r(F_s) = 2 (r(F_s) − F_t) / N,
///
/// N being the element count B·C_T·H·W. Reduction as RepDistiller's `HintLoss`
/// (HobbitLong/RepDistiller `distiller_zoo/FitNet.py`: `nn.MSELoss()`, mean over every
/// element). The regressor r is RepDistiller's `ConvReg` (a learned conv C_S → C_T, a
/// 1×1 conv when spatial sizes agree, followed by BatchNorm and ReLU in RepDistiller's
/// `models/util.py`); it is not part of this function: pass its output, and propagate
/// the returned gradient through it. RepDistiller's default hint layer is `--hint_layer 2`.
/// regressedStudent, teacher: the same shape, e.g. [B, C_T, H, W]
public func fitNetHintLoss(regressedStudent: Tensor, teacher: Tensor) throws(LossError) -> LossResult {
  guard regressedStudent.shape == teacher.shape, regressedStudent.count > 0 else {
    if regressedStudent.rank == 4, teacher.rank == 4, regressedStudent.shape[1] != teacher.shape[1] {
      throw .needsEmbedding("FitNet hint: student has \(regressedStudent.shape[1]) channels and the teacher \(teacher.shape[1]); regress the student's features to the teacher's channels (a 1×1 conv regressor) first")
    }
    throw .shapeMismatch("FitNet hint needs the regressed student features \(regressedStudent.shape) to have the teacher's shape \(teacher.shape)")
  }
  let core = LossMath.hint(student: LossMath.doubles(regressedStudent), teacher: LossMath.doubles(teacher))
  return LossResult(value: core.value, gradient: LossMath.tensor(regressedStudent.shape, core.gradient))
}

extension LossMath {
  /// Mean squared error in Double; see `fitNetHintLoss`.
  static func hint(student s: [Double], teacher t: [Double]) -> (value: Double, gradient: [Double]) {
    let n = Double(s.count)
    var sum = 0.0
    var gradient = [Double](repeating: 0, count: s.count)
    for i in 0..<s.count {
      let d = s[i] - t[i]
      sum += d * d
      gradient[i] = 2 * d / n
    }
    return (sum / n, gradient)
  }
}
