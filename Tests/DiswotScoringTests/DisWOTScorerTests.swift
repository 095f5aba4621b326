import DiswotModels
import DiswotScoring
import DiswotTensor
import DiswotTestSupport
import XCTest

final class DisWOTScorerTests: XCTestCase {
  private let labels = [3, 1, 4, 1]

  private func probe() -> Tensor {
    var rng = SeededGenerator(seed: 99)
    return Tensor.normal([4, 3, 32, 32], using: &rng)
  }

  func testTeacherAgainstItselfIsZero() throws {
    let teacher = randomResNet(try ModelZoo.description(named: "resnet20"), seed: 1)
    let output = try teacher.classify(probe(), mode: scoringMode)
    let reference = try TeacherReference(output: output, labels: labels)
    XCTAssertEqual(reference.classGradient.shape, [10, 64])
    XCTAssertEqual(reference.relation.shape, [4, 4])
    let score = try diswotScore(student: output, teacher: reference)
    XCTAssertEqual(score.semantic, 0)
    XCTAssertEqual(score.relation, 0)
    XCTAssertEqual(score.form, .perClass)
    XCTAssertEqual(score.score, 0)
  }

  /// A student of another width is compared in the class-Gram form; one of the teacher's
  /// width in the per-class form unless the class-Gram form is forced.
  func testFormFollowsWidths() throws {
    let x = probe()
    let teacher = try TeacherReference(
      output: randomResNet(try ModelZoo.description(named: "resnet20"), seed: 1).classify(x, mode: scoringMode),
      labels: labels)
    let narrow = randomResNet(ResNetDescription(blocksPerStage: [1, 1, 1], widths: [8, 16, 32]), seed: 2)
    let same = randomResNet(try ModelZoo.description(named: "resnet20"), seed: 2)
    let narrowScore = try diswotScore(student: narrow.classify(x, mode: scoringMode), teacher: teacher)
    XCTAssertEqual(narrowScore.form, .classGram)
    let sameOutput = try same.classify(x, mode: scoringMode)
    let sameScore = try diswotScore(student: sameOutput, teacher: teacher)
    XCTAssertEqual(sameScore.form, .perClass)
    XCTAssertEqual(try diswotScore(student: sameOutput, teacher: teacher, forceClassGram: true).form, .classGram)
    for s in [narrowScore, sameScore] {
      XCTAssertGreaterThan(s.semantic, 0)
      XCTAssertGreaterThan(s.relation, 0)
      XCTAssertEqual(s.score, -(s.semantic + s.relation))
    }
  }

  /// Bit-identical on repeat; across engine thread counts (forward passes included) equal
  /// to 1e-5 relative.
  func testDeterministicAndThreadIndependent() throws {
    let saved = Parallel.threads
    defer { Parallel.configure(threads: saved) }
    let x = probe()
    func run(threads: Int) throws -> DisWOTScore {
      Parallel.configure(threads: threads)
      let teacher = try TeacherReference(
        output: randomResNet(try ModelZoo.description(named: "resnet20"), seed: 1).classify(x, mode: scoringMode),
        labels: labels)
      let student = randomResNet(ResNetDescription(blocksPerStage: [2, 1, 1], widths: [16, 32, 64]), seed: 5)
      return try diswotScore(student: student.classify(x, mode: scoringMode), teacher: teacher)
    }
    let one = try run(threads: 1), two = try run(threads: 2)
    XCTAssertEqual(try run(threads: 2), two)
    XCTAssertEqual(one.form, two.form)
    assertRelativelyClose(two.semantic, one.semantic)
    assertRelativelyClose(two.relation, one.relation)
  }

  func testRejectsMismatchedStudents() throws {
    let x = probe()
    let teacher = try TeacherReference(
      output: randomResNet(try ModelZoo.description(named: "resnet20"), seed: 1).classify(x, mode: scoringMode),
      labels: labels)
    let hundred = randomResNet(try ModelZoo.description(named: "resnet20", classCount: 100), seed: 2)
    XCTAssertThrowsError(try diswotScore(student: hundred.classify(x, mode: scoringMode), teacher: teacher))
    let smallBatch = Tensor(zeros: [2, 3, 32, 32], value: 0.5)
    let student = randomResNet(try ModelZoo.description(named: "resnet20"), seed: 2)
    XCTAssertThrowsError(try diswotScore(student: student.classify(smallBatch, mode: scoringMode), teacher: teacher))
    XCTAssertThrowsError(try TeacherReference(output: student.classify(x, mode: scoringMode), labels: [0, 1]))
  }
}
