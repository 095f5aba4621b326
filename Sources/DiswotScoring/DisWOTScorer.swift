import DiswotModels
import DiswotTensor

/// What the teacher contributes, computed once per probe batch.
///
/// A search scores thousands of students against one teacher on one batch, so the
/// teacher's class gradient and relation matrix are derived here once and every
/// `diswotScore` call reuses them.
public struct TeacherReference: Sendable {
  /// The teacher's last feature map before global pooling: [B, C, H, W].
  public let features: Tensor
  /// Classifier-weight gradient of the mean cross-entropy: [K, C].
  public let classGradient: Tensor
  /// Row-normalised sample Gram of `features`: [B, B].
  public let relation: Tensor
  /// The probe batch's labels, which students' gradients are taken against too.
  public let labels: [Int]

  public init(output: ClassifierOutput, labels: [Int]) throws(ScoringError) {
    guard output.features.rank >= 1, output.features.shape[0] == labels.count else {
      throw .shapeMismatch("teacher features \(output.features.shape) for \(labels.count) labels")
    }
    features = output.features
    classGradient = try classifierGradient(pooled: output.pooled, logits: output.logits, labels: labels)
    relation = try relationMatrix(features: output.features)
    self.labels = labels
  }
}

/// A student's DisWOT distances to the teacher; higher `score` is better.
public struct DisWOTScore: Sendable, Codable, Equatable {
  /// Semantic (class-activation similarity) distance.
  public let semantic: Double
  /// Relation (sample similarity) distance.
  public let relation: Double
  /// How the semantic distance was computed.
  public let form: SemanticForm

  /// −(semantic + relation): the closer the student's similarities are to the teacher's,
  /// the better it is expected to distil.
  public var score: Double { -(semantic + relation) }
}

/// Scores a randomly initialised student's output on the probe batch against the teacher.
/// The student's class gradient and relation matrix are computed exactly as the teacher's
/// were, so a student identical to the teacher scores exactly 0.
/// student: features [B, C_S, H_S, W_S], pooled [B, C_S], logits [B, K]
public func diswotScore(
  student: ClassifierOutput, teacher: TeacherReference, forceClassGram: Bool = false
) throws(ScoringError) -> DisWOTScore {
  guard student.logits.rank == 2, student.logits.shape[1] == teacher.classGradient.shape[0] else {
    throw .shapeMismatch("student logits \(student.logits.shape) for a teacher with \(teacher.classGradient.shape[0]) classes")
  }
  let gradient = try classifierGradient(pooled: student.pooled, logits: student.logits, labels: teacher.labels)
  let semantic = try semanticDistance(student: gradient, teacher: teacher.classGradient, forceClassGram: forceClassGram)
  let relation = try relationDistance(student: try relationMatrix(features: student.features), teacher: teacher.relation)
  return DisWOTScore(semantic: semantic.value, relation: relation, form: semantic.form)
}
