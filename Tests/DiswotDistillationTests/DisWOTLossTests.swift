@testable import DiswotDistillation
import DiswotModels
import DiswotScoring
import DiswotTensor
import DiswotTestSupport
import XCTest

final class DisWOTLossTests: XCTestCase {
  /// A classifier output with pooled = the spatial mean of features, as networks give it.
  private func output(_ features: Tensor, logits: Tensor) -> ClassifierOutput {
    let (b, c, spatial) = (features.shape[0], features.shape[1], features.shape[2] * features.shape[3])
    var pooled = Tensor(zeros: [b, c])
    for plane in 0..<(b * c) {
      var sum: Float = 0
      for x in 0..<spatial { sum += features.storage[plane * spatial + x] }
      pooled.storage[plane] = sum / Float(spatial)
    }
    return ClassifierOutput(features: features, pooled: pooled, logits: logits)
  }

  /// Spatial means in Double: h[b, c] = mean_x F[b, c, x]. f: [B, C, S] -> [B, C]
  private func means(_ f: [Double], planes: Int, spatial: Int) -> [Double] {
    (0..<planes).map { plane in (0..<spatial).reduce(0.0) { $0 + f[plane * spatial + $1] } / Double(spatial) }
  }

  private let labels = [1, 3, 0]

  /// B = 1, K = 2, C = 2. z = (0, 0): softmax (1/2, 1/2); label 0: R = (−1/2, 1/2).
  /// h = (2, −2): G = Rᵀh = [[−1, 1], [1, −1]]. Teacher G_T = [[1, 1], [1, 1]].
  /// Class 0: E_S = σuᵀ with σ = (−1, 1), u = (−1, 1)/√2: [[1, −1], [−1, 1]]/√2;
  /// E_T = [[1, 1], [1, 1]]/√2; row differences (0, −2)/√2 and (−2, 0)/√2, squared 2 + 2.
  /// Class 1: σ = (1, −1), u = (1, −1)/√2 gives the same E_S: 4 again. Total 8/(C·K) = 2.
  /// σ_S·σ_T = 0 for both classes, so the smooth part has zero weight: gradients are 0.
  func testSemanticTinyCaseByHand() throws {
    let loss = try diswotSemanticLoss(
      studentLogits: tensor([1, 2], [0, 0]), studentPooled: tensor([1, 2], [2, -2]), labels: [0],
      teacherClassGradient: tensor([2, 2], [1, 1, 1, 1]))
    XCTAssertEqual(loss.form, .perClass)
    XCTAssertEqual(loss.value, 2, accuracy: 1e-12)
    XCTAssertTrue(loss.logitsGradient.storage.allSatisfy { $0 == 0 })
    XCTAssertTrue(loss.pooledGradient.storage.allSatisfy { $0 == 0 })
  }

  /// Values are DiswotScoring's, bit for bit, in both forms.
  func testSemanticValueEqualsScoring() throws {
    var rng = SeededGenerator(seed: 61)
    for (cT, force) in [(3, false), (5, false), (3, true)] {
      let z = Tensor.normal([3, 4], using: &rng), h = Tensor.normal([3, 3], using: &rng)
      let gT = Tensor.normal([4, cT], using: &rng)
      let loss = try diswotSemanticLoss(
        studentLogits: z, studentPooled: h, labels: labels, teacherClassGradient: gT, forceClassGram: force)
      let scored = try semanticDistance(
        student: try classifierGradient(pooled: h, logits: z, labels: labels), teacher: gT, forceClassGram: force)
      XCTAssertEqual(loss.value, scored.value, "C_T = \(cT), forced \(force)")
      XCTAssertEqual(loss.form, scored.form)
      // The Double re-computation behind the gradient agrees to Float precision.
      let core = LossMath.diswotSemantic(
        logits: doubles(z), pooled: doubles(h), batch: 3, classes: 4, channels: 3, labels: labels,
        teacherGradient: doubles(gT), teacherChannels: cT, forceClassGram: force)
      assertRelativelyClose(core.value, loss.value, rel: 1e-5)
    }
  }

  /// Finite differences of the Double value with respect to logits and pooled features,
  /// per-class form (same C) and class-Gram form (different C). For the per-class form
  /// every entry of G_S is kept well away from 0 so that no sign flips within ±ε.
  func testSemanticGradientMatchesFiniteDifferences() throws {
    var rng = SeededGenerator(seed: 62)
    for cT in [3, 5] {
      let z = Tensor.normal([3, 4], using: &rng), h = Tensor.normal([3, 3], using: &rng)
      let gT = Tensor.normal([4, cT], using: &rng)
      let g = try classifierGradient(pooled: h, logits: z, labels: labels)
      XCTAssertGreaterThan(g.storage.map { abs($0) }.min()!, 2e-3, "seed gives an entry of G near 0; pick another")
      let loss = try diswotSemanticLoss(studentLogits: z, studentPooled: h, labels: labels, teacherClassGradient: gT)
      XCTAssertEqual(loss.form, cT == 3 ? .perClass : .classGram)
      let (zd, hd, gd) = (doubles(z), doubles(h), doubles(gT))
      func value(_ z: [Double], _ h: [Double]) -> Double {
        LossMath.diswotSemantic(
          logits: z, pooled: h, batch: 3, classes: 4, channels: 3, labels: labels,
          teacherGradient: gd, teacherChannels: cT, forceClassGram: false).value
      }
      assertGradientMatches(loss.logitsGradient, finiteDifferences(zd) { value($0, hd) }, "logits, C_T = \(cT)")
      assertGradientMatches(loss.pooledGradient, finiteDifferences(hd) { value(zd, $0) }, "pooled, C_T = \(cT)")
    }
  }

  /// g = 0 (pooled features all zero) gives G_S = 0: finite values, zero gradients, no NaN,
  /// in both forms; a zero teacher class row likewise.
  func testZeroClassGradientGivesNoNaN() throws {
    var rng = SeededGenerator(seed: 63)
    let z = Tensor.normal([3, 4], using: &rng)
    for cT in [3, 5] {
      var gT = Tensor.normal([4, cT], using: &rng)
      let zeroH = try diswotSemanticLoss(
        studentLogits: z, studentPooled: Tensor(zeros: [3, 3]), labels: labels, teacherClassGradient: gT)
      XCTAssertTrue(zeroH.value.isFinite)
      XCTAssertTrue(zeroH.logitsGradient.storage.allSatisfy { $0 == 0 })
      XCTAssertTrue(zeroH.pooledGradient.storage.allSatisfy { $0 == 0 })
      for ch in 0..<cT { gT[2, ch] = 0 }
      let zeroTeacherRow = try diswotSemanticLoss(
        studentLogits: z, studentPooled: Tensor.normal([3, 3], using: &rng), labels: labels, teacherClassGradient: gT)
      XCTAssertTrue(zeroTeacherRow.value.isFinite)
      assertFinite(zeroTeacherRow.logitsGradient)
      assertFinite(zeroTeacherRow.pooledGradient)
    }
    // Per-class with G_S = 0: each class costs n_T (its teacher row's nonzero count), /(C·K).
    let allZero = try diswotSemanticLoss(
      studentLogits: z, studentPooled: Tensor(zeros: [3, 3]), labels: labels,
      teacherClassGradient: Tensor(zeros: [4, 3], value: 1))
    XCTAssertEqual(allZero.value, 1, accuracy: 1e-12)
  }

  func testRelationValueEqualsScoringAndGradientMatches() throws {
    var rng = SeededGenerator(seed: 64)
    let f = Tensor.normal([3, 3, 2, 2], using: &rng), fT = Tensor.normal([3, 5, 2, 2], using: &rng)
    let qT = try relationMatrix(features: fT)
    let loss = try diswotRelationLoss(studentFeatures: f, teacherRelation: qT)
    XCTAssertEqual(loss.value, try relationDistance(student: try relationMatrix(features: f), teacher: qT))
    let teacherQ = doubles(qT)
    let numeric = finiteDifferences(doubles(f)) { x in LossMath.relationMatch(student: x, batch: 3, teacherQ: teacherQ).value }
    assertGradientMatches(loss.gradient, numeric)
  }

  /// The tiny relation case of the scoring tests: (4 − √2 − 4/√5)/4.
  func testRelationTinyCaseByHand() throws {
    let loss = try diswotRelationLoss(
      studentFeatures: tensor([2, 2, 1, 1], [1, 0, 1, 1]), teacherRelation: tensor([2, 2], [1, 0, 0, 1]))
    XCTAssertEqual(loss.value, (4 - 2.0.squareRoot() - 4 / 5.0.squareRoot()) / 4, accuracy: 1e-6)
  }

  /// The combined loss is the negated DisWOT score, and its feature-map gradient covers
  /// both the relation Gram and the pooling into the semantic part.
  func testCombinedLossMatchesScoreAndFiniteDifferences() throws {
    var rng = SeededGenerator(seed: 65)
    for cT in [3, 5] {
      let student = output(Tensor.normal([3, 3, 2, 2], using: &rng), logits: Tensor.normal([3, 4], using: &rng))
      let teacherOutput = output(Tensor.normal([3, cT, 2, 2], using: &rng), logits: Tensor.normal([3, 4], using: &rng))
      let teacher = try TeacherReference(output: teacherOutput, labels: labels)
      let loss = try diswotDistillationLoss(student: student, teacher: teacher)
      let score = try diswotScore(student: student, teacher: teacher)
      XCTAssertEqual(loss.value, -score.score)
      XCTAssertEqual(loss.semantic.value, score.semantic)
      XCTAssertEqual(loss.relation.value, score.relation)
      XCTAssertEqual(loss.semantic.form, score.form)

      let g = try classifierGradient(pooled: student.pooled, logits: student.logits, labels: labels)
      XCTAssertGreaterThan(g.storage.map { abs($0) }.min()!, 2e-3, "seed gives an entry of G near 0; pick another")
      let (zd, gd, qd) = (doubles(student.logits), doubles(teacher.classGradient), doubles(teacher.relation))
      func value(_ z: [Double], _ f: [Double]) -> Double {
        LossMath.diswotSemantic(
          logits: z, pooled: means(f, planes: 9, spatial: 4), batch: 3, classes: 4, channels: 3,
          labels: labels, teacherGradient: gd, teacherChannels: cT, forceClassGram: false).value
          + LossMath.relationMatch(student: f, batch: 3, teacherQ: qd).value
      }
      let fd = doubles(student.features)
      assertGradientMatches(loss.featuresGradient, finiteDifferences(fd) { value(zd, $0) }, "features, C_T = \(cT)")
      assertGradientMatches(loss.logitsGradient, finiteDifferences(zd) { value($0, fd) }, "logits, C_T = \(cT)")
    }
  }

  /// Identical student and teacher: the loss is exactly 0 (as the score).
  func testStudentEqualToTeacherGivesZero() throws {
    var rng = SeededGenerator(seed: 66)
    let o = output(Tensor.normal([4, 3, 2, 2], using: &rng), logits: Tensor.normal([4, 5], using: &rng))
    let loss = try diswotDistillationLoss(student: o, teacher: try TeacherReference(output: o, labels: [0, 4, 2, 2]))
    XCTAssertEqual(loss.value, 0)
    XCTAssertLessThan(loss.featuresGradient.storage.map { abs($0) }.max()!, 1e-6)
    XCTAssertLessThan(loss.logitsGradient.storage.map { abs($0) }.max()!, 1e-6)
  }

  /// ∂h spread as ∂h/(H·W) over every position of its plane.
  func testSpreadPooledGradient() throws {
    let spread = try spreadPooledGradient(tensor([1, 2], [4, -8]), featureShape: [1, 2, 2, 2])
    assertClose(spread, tensor([1, 2, 2, 2], [1, 1, 1, 1, -2, -2, -2, -2]))
    XCTAssertThrowsError(try spreadPooledGradient(tensor([1, 2], [4, -8]), featureShape: [1, 3, 2, 2]))
  }

  func testRejectsBadInput() {
    XCTAssertThrowsError(try diswotSemanticLoss(
      studentLogits: Tensor(zeros: [3, 4]), studentPooled: Tensor(zeros: [2, 3]), labels: labels,
      teacherClassGradient: Tensor(zeros: [4, 3])))
    XCTAssertThrowsError(try diswotSemanticLoss(
      studentLogits: Tensor(zeros: [3, 4]), studentPooled: Tensor(zeros: [3, 3]), labels: labels,
      teacherClassGradient: Tensor(zeros: [5, 3])))
    XCTAssertThrowsError(try diswotRelationLoss(studentFeatures: Tensor(zeros: [3, 2, 1, 1]), teacherRelation: Tensor(zeros: [2, 2])))
  }
}
