import DiswotModels
import DiswotScoring
import DiswotTensor
import DiswotTestSupport
import XCTest

final class StageRelationTests: XCTestCase {
  /// The observer keeps, per spatial size, the last map of that size, in order of first
  /// appearance; maps that are not [B, C, H, W] are ignored.
  func testObserverKeepsTheLastMapOfEachSize() throws {
    let observer = StageFeatureObserver()
    observer.observeActivation(Tensor(zeros: [2, 1, 4, 4], value: 1))
    observer.observeActivation(Tensor(zeros: [2, 3, 2, 2], value: 2))
    observer.observeActivation(Tensor(zeros: [2, 5, 4, 4], value: 3))
    observer.observeActivation(Tensor(zeros: [2, 10], value: 4))
    XCTAssertEqual(observer.stages.map { [$0.height, $0.width] }, [[4, 4], [2, 2]])
    XCTAssertEqual(observer.stages[0].features.shape, [2, 5, 4, 4])
    XCTAssertEqual(observer.stages[1].features.shape, [2, 3, 2, 2])
  }

  /// Two shared sizes: at 4×4 the student's relation matrix is RelationDistanceTests' hand
  /// case against the identity, distance (4 − √2 − 4/√5)/4; at 2×2 they are identical,
  /// distance 0. The student's 1×1 stage has no teacher counterpart and is not read. The
  /// score is the mean over the shared sizes: (4 − √2 − 4/√5)/8.
  func testMeanOverSharedSizesByHand() throws {
    let student = [
      StageRelation(height: 4, width: 4, matrix: try relationMatrix(features: tensor([2, 2, 1, 1], [1, 0, 1, 1]))),
      StageRelation(height: 2, width: 2, matrix: tensor([2, 2], [1, 0, 0, 1])),
      StageRelation(height: 1, width: 1, matrix: tensor([2, 2], [0, 1, 1, 0])),
    ]
    let teacher = [
      StageRelation(height: 2, width: 2, matrix: tensor([2, 2], [1, 0, 0, 1])),
      StageRelation(height: 4, width: 4, matrix: tensor([2, 2], [1, 0, 0, 1])),
    ]
    let expected = (4 - 2.0.squareRoot() - 4 / 5.0.squareRoot()) / 8
    XCTAssertEqual(try XCTUnwrap(try stageRelationDistance(student: student, teacher: teacher)), expected, accuracy: 1e-6)
  }

  /// No size in common (other input sizes): nil, and the scorer uses DisWOT's relation
  /// term at the last maps.
  func testNoSharedSizeHasNoStageDistance() throws {
    let student = [StageRelation(height: 3, width: 3, matrix: tensor([2, 2], [1, 0, 0, 1]))]
    let teacher = [StageRelation(height: 4, width: 4, matrix: tensor([2, 2], [1, 0, 0, 1]))]
    XCTAssertNil(try stageRelationDistance(student: student, teacher: teacher))
  }

  /// On a CIFAR ResNet the stages are its three resolutions, the last is the feature map
  /// DisWOT's relation term reads, and a teacher scored against itself is 0 apart.
  func testCIFARResNetStagesAndIdentity() throws {
    let teacher = randomResNet(try ModelZoo.description(named: "resnet20"), seed: 1)
    let observer = StageFeatureObserver()
    var mode = scoringMode
    mode.observer = observer
    var rng = SeededGenerator(seed: 5)
    let images = Tensor.normal([4, 3, 32, 32], using: &rng)
    let output = try teacher.classify(images, mode: mode)
    XCTAssertEqual(observer.stages.map(\.height), [32, 16, 8])
    assertClose(try observer.relations()[2].matrix, try relationMatrix(features: output.features))

    let probe = try ProbeBatch.gaussian(batch: 4, shape: [3, 32, 32], classCount: 10, seed: 5)
    let scorer = try CandidateScorer(teacher: teacher, probe: probe, proxies: [.relationStages, .relation])
    XCTAssertEqual(scorer.teacherStages.count, 3)
    let itself = try scorer.score(teacher).scores
    XCTAssertEqual(itself["relation_stages"], 0)
    let other = try scorer.score(randomResNet(try ModelZoo.description(named: "resnet20"), seed: 2)).scores
    XCTAssertGreaterThan(try XCTUnwrap(other["relation_stages"]), 0)
  }
}
