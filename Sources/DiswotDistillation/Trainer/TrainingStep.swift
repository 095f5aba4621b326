import DiswotModels
import DiswotScoring
import DiswotTensor

/// One optimisation step's losses and their gradients with respect to the student's
/// logits and last feature map, combined with role-named weights:
/// loss = γ·CE + α·KD + β·feature loss (`LossWeights`).
struct StepLosses {
  var total = 0.0
  var crossEntropy = 0.0
  var kd = 0.0
  var feature = 0.0
  /// Each teacher's KD term (unweighted), `teacher` first; empty with one teacher.
  var teacherKD: [Double] = []
  var correct = 0
  /// dL/dlogits: [B, K]
  var dLogits: Tensor
  /// dL/dfeatures: [B, C, H, W], nil when no feature loss applies
  var dFeatures: Tensor?
}

/// y += w · x, element-wise (shapes already checked by the losses).
func addScaled(_ y: inout Tensor, _ x: Tensor, _ w: Double) {
  let weight = Float(w)
  y.withUnsafeMutableBufferPointer { yp in
    x.withUnsafeBufferPointer { xp in
      for i in 0..<yp.count { yp[i] += weight * xp[i] }
    }
  }
}

/// w · x as a new tensor.
func scaled(_ x: Tensor, _ w: Double) -> Tensor {
  var y = Tensor(zeros: x.shape)
  addScaled(&y, x, w)
  return y
}

extension Trainer {
  /// Forward passes and losses for one batch (the student's forward records for backward).
  func losses(images: Tensor, labels: [Int]) throws -> (StepLosses, ClassifierOutput) {
    let w = spec.weights
    let out = try student.classify(images, mode: .trainingStep)
    let ce = try crossEntropyLoss(logits: out.logits, labels: labels, labelSmoothing: spec.labelSmoothing)
    var step = StepLosses(crossEntropy: ce.value, correct: ce.correct, dLogits: scaled(ce.logitsGradient, w.crossEntropy))
    guard let teacher else {
      step.total = w.crossEntropy * ce.value
      return (step, out)
    }
    // The teacher is frozen: inference-mode batch norm, as RepDistiller's `model_t.eval()`.
    let t = try teacher.classify(images, mode: .inference)
    if !moreTeachers.isEmpty {
      // Several teachers (kd only, `TrainingSpec.validate`): KD = Σ_t mix_t · KD_t, each
      // term and its gradient as for one teacher. Computed even when α = 0, for the log.
      let mix = spec.teacherMix!
      for (index, model) in ([teacher] + moreTeachers).enumerated() {
        let logits = index == 0 ? t.logits : try model.classify(images, mode: .inference).logits
        let kd = try hintonKDLoss(studentLogits: out.logits, teacherLogits: logits, temperature: w.temperature)
        step.teacherKD.append(kd.value)
        step.kd += mix[index] * kd.value
        if w.kd > 0 { addScaled(&step.dLogits, kd.gradient, w.kd * mix[index]) }
      }
    } else if w.kd > 0 {
      let kd = try hintonKDLoss(studentLogits: out.logits, teacherLogits: t.logits, temperature: w.temperature)
      step.kd = kd.value
      addScaled(&step.dLogits, kd.gradient, w.kd)
    }
    switch spec.distill {
    case .none, .kd:
      break
    case .sp:
      let r = try similarityPreservingLoss(studentFeatures: out.features, teacherFeatures: t.features)
      (step.feature, step.dFeatures) = (r.value, scaled(r.gradient, w.feature))
    case .ickd:
      let r = try interChannelCorrelationLoss(studentFeatures: out.features, teacherFeatures: t.features)
      (step.feature, step.dFeatures) = (r.value, scaled(r.gradient, w.feature))
    case .at:
      let r = try attentionTransferLoss(studentFeatures: out.features, teacherFeatures: t.features)
      (step.feature, step.dFeatures) = (r.value, scaled(r.gradient, w.feature))
    case .fitnet:
      let regressed = try regressor!.forward(out.features, mode: .trainingStep)
      let r = try fitNetHintLoss(regressedStudent: regressed, teacher: t.features)
      step.feature = r.value
      step.dFeatures = try regressor!.backward(scaled(r.gradient, w.feature))
    case .diswot:
      let r = try diswotDistillationLoss(student: out, teacher: TeacherReference(output: t, labels: labels))
      step.feature = r.value
      addScaled(&step.dLogits, r.logitsGradient, w.feature)
      step.dFeatures = scaled(r.featuresGradient, w.feature)
    }
    step.total = w.combine(crossEntropy: step.crossEntropy, kd: step.kd, feature: step.feature)
    return (step, out)
  }

  /// One SGD step on a batch; returns its losses.
  func trainStep(images: Tensor, labels: [Int], learningRate: Double) throws -> StepLosses {
    student.zeroGradients()
    regressor?.zeroGradients()
    let (step, _) = try losses(images: images, labels: labels)
    _ = try student.backward(dLogits: step.dLogits, dFeatures: step.dFeatures)
    try sgd.step(learningRate: learningRate) { visit in
      try student.visitParameters(prefix: "", visit)
      try regressor?.visitParameters(prefix: Self.regressorPrefix, visit)
    }
    return step
  }
}
