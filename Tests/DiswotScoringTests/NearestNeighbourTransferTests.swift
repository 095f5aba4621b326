import DiswotScoring
import XCTest

/// `NearestNeighbourTransfer` on five 2-D points worked by hand. Cosine similarities (3
/// decimals): p0=(1,0) and p4=(1,0.05): 0.999; p1=(0.9,0.1) and p4: 0.998; p0 and p1:
/// 0.994; p2=(0,1) and p3=(0.1,0.9): 0.994; p1 and p3: 0.220; p3 and p4: 0.160; p0 and
/// p3: 0.110; p1 and p2: 0.110; p2 and p4: 0.050; p0 and p2: 0. Labels 0, 0, 1, 1, 1.
final class NearestNeighbourTransferTests: XCTestCase {
  private let points: [Float] = [1, 0, 0.9, 0.1, 0, 1, 0.1, 0.9, 1, 0.05]
  private let labels = [0, 0, 1, 1, 1]

  private func score(_ features: [Float], labels: [Int], k: Int) throws -> Int {
    try NearestNeighbourTransfer.accuracy(features: features, rows: labels.count, labels: labels, classCount: 2, k: k).correct
  }

  /// k = 1: p0 → p4 (1, wrong), p1 → p4 (1, wrong), p2 → p3 (right), p3 → p2 (right), p4 → p0 (0, wrong).
  func testOneNeighbour() throws {
    let result = try NearestNeighbourTransfer.accuracy(features: points, rows: 5, labels: labels, classCount: 2, k: 1)
    XCTAssertEqual(result.correct, 2)
    XCTAssertEqual(result.accuracy, 0.4)
  }

  /// k = 2 ties p0's vote (p4: 1, p1: 0) and p1's (p4: 1, p0: 0): the class met first, 1,
  /// wins, so both are wrong; a tie going to the smaller class would make them right (4/5).
  func testATieGoesToTheClassMetFirst() throws {
    XCTAssertEqual(try score(points, labels: labels, k: 2), 2)
  }

  /// k = 3: p0 → p4, p1, p3 (1, wrong); p1 → p4, p0, p3 (1, wrong); p2 → p3, p1, p4 (1,
  /// right); p3 → p2, p1, p4 (1, right); p4 → p0, p1, p3 (0, wrong).
  func testThreeNeighbours() throws {
    XCTAssertEqual(try score(points, labels: labels, k: 3), 2)
  }

  /// Relabelling p4 as class 0 makes every 1-NN prediction right.
  func testSeparableLabelsScoreOne() throws {
    XCTAssertEqual(try score(points, labels: [0, 0, 1, 1, 0], k: 1), 5)
  }

  /// Cosine: scaling an image's features changes nothing.
  func testScaleInvariance() throws {
    var scaled = points
    scaled[8] *= 100; scaled[9] *= 100; scaled[2] *= 0.01; scaled[3] *= 0.01
    XCTAssertEqual(try score(scaled, labels: labels, k: 1), 2)
    XCTAssertEqual(try score(scaled, labels: [0, 0, 1, 1, 0], k: 1), 5)
  }

  func testBadArgumentsAreErrors() {
    XCTAssertThrowsError(try score(points, labels: labels, k: 5))
    XCTAssertThrowsError(try score(points, labels: labels, k: 0))
    XCTAssertThrowsError(try score(points, labels: [0, 0, 1, 1, 2], k: 1))
    XCTAssertThrowsError(try score(points, labels: [0, 0, 1], k: 1))
  }
}
