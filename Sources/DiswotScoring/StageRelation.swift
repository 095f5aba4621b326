import DiswotModels
import DiswotTensor

/// The relation term read at every resolution a network works at, not only at its last
/// feature map: similarity-preserving distillation (Tung & Mori, ICCV 2019) matches the
/// teacher's sample relations at the end of each stage, because a student whose early
/// stages already group the images as the teacher's do is the one that can follow it. For
/// ranking it is also the less noisy reading: a random student's relation matrix at one
/// map depends on its initialisation, and averaging the distance over three or four
/// stages averages partly independent draws of that noise.
///
/// A stage is identified by its spatial size: the feature map read for it is the last
/// ReLU output of that size in forward order (for a CIFAR ResNet the output of each stage;
/// for NAS-Bench-201 the rectified output of each stage that the next reduction block or
/// the final activation reads). The score is the mean of `relationDistance` over the sizes
/// both networks have (`stageRelationDistance`); when they share none (different input
/// sizes), it is the distance at their last feature maps — DisWOT's relation term.
public final class StageFeatureObserver: ForwardObserver {
  /// The last ReLU output seen at each spatial size, in order of first appearance.
  public private(set) var stages: [(height: Int, width: Int, features: Tensor)] = []

  public init() {}

  /// Keeps `output` as its size's latest map. output: [B, C, H, W]
  public func observeActivation(_ output: Tensor) {
    guard output.rank == 4 else { return }
    let (h, w) = (output.shape[2], output.shape[3])
    if let i = stages.firstIndex(where: { $0.height == h && $0.width == w }) {
      stages[i].features = output
    } else {
      stages.append((h, w, output))
    }
  }

  public func observeBatchNorm(variance: [Float]) {}

  /// The relation matrix, rownorm(X Xᵀ), of each stage whose size `wanted` accepts (all
  /// by default): a student's are only needed at the teacher's sizes. -> [(h, w, [B, B])]
  public func relations(at wanted: (Int, Int) -> Bool = { _, _ in true }) throws(ScoringError) -> [StageRelation] {
    var result: [StageRelation] = []
    for s in stages where wanted(s.height, s.width) {
      result.append(StageRelation(height: s.height, width: s.width, matrix: try relationMatrix(features: s.features)))
    }
    return result
  }
}

/// One stage's relation matrix, keyed by the spatial size it was read at.
public struct StageRelation: Sendable {
  public let height: Int
  public let width: Int
  /// [B, B]
  public let matrix: Tensor

  public init(height: Int, width: Int, matrix: Tensor) {
    (self.height, self.width, self.matrix) = (height, width, matrix)
  }
}

/// Mean over the spatial sizes both networks have of the relation distance there; nil
/// when they share none (the caller then falls back to the last feature maps' distance,
/// DisWOT's relation term).
public func stageRelationDistance(student: [StageRelation], teacher: [StageRelation]) throws(ScoringError) -> Double? {
  var sum = 0.0, count = 0
  for t in teacher {
    guard let s = student.first(where: { $0.height == t.height && $0.width == t.width }) else { continue }
    sum += try relationDistance(student: s.matrix, teacher: t.matrix)
    count += 1
  }
  return count > 0 ? sum / Double(count) : nil
}
