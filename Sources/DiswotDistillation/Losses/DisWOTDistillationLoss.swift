import DiswotModels
import DiswotScoring
import DiswotTensor

/// Both DisWOT distances of a training batch as one loss, with gradients at the two
/// places a classifier network produces them: the logits and the last feature map.
public struct DisWOTDistillationLoss: Sendable, Equatable {
  /// The semantic part, with its own gradients (already included in the totals below).
  public let semantic: DisWOTSemanticLoss
  /// The relation part; `relation.gradient` is ∂relation/∂F (already included below).
  public let relation: LossResult
  /// semantic + relation: exactly −`diswotScore(…).score` for the same inputs.
  public var value: Double { semantic.value + relation.value }
  /// ∂value/∂z = `semantic.logitsGradient`: [B, K]
  public var logitsGradient: Tensor { semantic.logitsGradient }
  /// ∂value/∂F through both paths that read F directly: the relation Gram and the global
  /// average pooling feeding the semantic part (∂/∂h spread as ∂h/(H·W) over positions):
  /// [B, C, H, W]. Add it at the feature map *after* back-propagating the logits gradient
  /// (from every loss) through the classifier and the pooling; do not also propagate
  /// `semantic.pooledGradient`, which is already in here.
  public let featuresGradient: Tensor
}

/// DisWOT's semantic and relation distances to the teacher, as a training loss on the
/// student's `ClassifierOutput` (Dong et al., CVPR 2023; the negated DisWOT score).
///
/// The semantic part is `diswotSemanticLoss(studentLogits: z, studentPooled: h, …)` against
/// `teacher.classGradient` with `teacher.labels`, the relation part
/// `diswotRelationLoss(studentFeatures: F, teacherRelation: teacher.relation)`; values
/// equal `diswotScore(student:teacher:forceClassGram:)`'s. `student.pooled` must be the
/// global average of `student.features` (as every `Classifier` produces it), since the
/// semantic gradient is mapped to F through that average.
/// student: features [B, C_S, H, W], pooled [B, C_S], logits [B, K];
/// teacher: built on the same batch (`TeacherReference(output:labels:)`)
public func diswotDistillationLoss(
  student: ClassifierOutput, teacher: TeacherReference, forceClassGram: Bool = false
) throws(LossError) -> DisWOTDistillationLoss {
  guard student.features.rank == 4,
    student.pooled.shape == [student.features.shape[0], student.features.shape[1]]
  else {
    throw .shapeMismatch("student features \(student.features.shape) must be [B, C, H, W] with pooled \(student.pooled.shape) = [B, C]")
  }
  let semantic = try diswotSemanticLoss(
    studentLogits: student.logits, studentPooled: student.pooled, labels: teacher.labels,
    teacherClassGradient: teacher.classGradient, forceClassGram: forceClassGram)
  let relation = try diswotRelationLoss(studentFeatures: student.features, teacherRelation: teacher.relation)
  var features = try spreadPooledGradient(semantic.pooledGradient, featureShape: student.features.shape)
  features.withUnsafeMutableBufferPointer { f in
    relation.gradient.withUnsafeBufferPointer { r in
      for i in 0..<f.count { f[i] += r[i] }
    }
  }
  return DisWOTDistillationLoss(semantic: semantic, relation: relation, featuresGradient: features)
}

/// The backward pass of global average pooling h[b, c] = mean_{y,x} F[b, c, y, x]:
/// ∂L/∂F[b, c, y, x] = ∂L/∂h[b, c] / (H·W).
/// pooledGradient: [B, C], featureShape: [B, C, H, W] -> [B, C, H, W]
public func spreadPooledGradient(_ pooledGradient: Tensor, featureShape: [Int]) throws(LossError) -> Tensor {
  guard featureShape.count == 4, pooledGradient.shape == [featureShape[0], featureShape[1]],
    featureShape.allSatisfy({ $0 >= 0 })
  else {
    throw .shapeMismatch("pooled gradient \(pooledGradient.shape) does not match features \(featureShape)")
  }
  let spatial = featureShape[2] * featureShape[3]
  var out = Tensor(zeros: featureShape)
  guard spatial > 0 else { return out }
  let inverse = 1 / Float(spatial)
  out.withUnsafeMutableBufferPointer { o in
    pooledGradient.withUnsafeBufferPointer { g in
      for plane in 0..<g.count {
        let v = g[plane] * inverse
        for x in 0..<spatial { o[plane * spatial + x] = v }
      }
    }
  }
  return out
}
