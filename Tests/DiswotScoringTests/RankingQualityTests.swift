import DiswotScoring
import XCTest

/// The measures `diswot quality` and `diswot rank` report, on hand-worked rankings.
final class RankingQualityTests: XCTestCase {
  func testPerfectAndReversedRankings() {
    let truth = (0..<20).map(Double.init)
    let perfect = RankingQuality(scores: truth.map { $0 * 3 + 1 }, truth: truth, higherIsBetter: true)
    XCTAssertEqual(perfect.kendallTau, 1)
    XCTAssertEqual(perfect.spearmanRho, 1, accuracy: 1e-12)
    XCTAssertEqual(perfect.topPrecision, 1)
    XCTAssertEqual(perfect.matched, 20)
    // A distance that grows as accuracy falls ranks perfectly once oriented.
    let distance = RankingQuality(scores: truth.map { 100 - $0 }, truth: truth, higherIsBetter: false)
    XCTAssertEqual(distance.kendallTau, 1)
    XCTAssertEqual(distance.topPrecision, 1)
    let reversed = RankingQuality(scores: truth.map { -$0 }, truth: truth, higherIsBetter: true)
    XCTAssertEqual(reversed.kendallTau, -1)
    XCTAssertEqual(reversed.topPrecision, 0)
  }

  /// 20 candidates: k = 2. The proxy's top two are candidates 19 and 0; the truth's are
  /// 19 and 18, so the precision is 1/2.
  func testTopPrecisionByHand() {
    let truth = (0..<20).map(Double.init)
    var scores = truth
    scores[0] = 1000
    XCTAssertEqual(RankingQuality.topPrecision(scores, truth, fraction: 0.1), 0.5)
    XCTAssertEqual(RankingQuality(scores: scores, truth: truth, higherIsBetter: true).topPrecision, 0.5)
  }

  /// A non-finite score ranks last: NaN on the truth's best candidate costs exactly what
  /// ranking it last does.
  func testNonFiniteScoresRankLast() {
    let truth = (0..<10).map(Double.init)
    var withNaN = truth
    withNaN[9] = .nan
    var last = truth
    last[9] = -100
    let a = RankingQuality(scores: withNaN, truth: truth, higherIsBetter: true)
    let b = RankingQuality(scores: last, truth: truth, higherIsBetter: true)
    XCTAssertEqual(a.kendallTau, b.kendallTau)
    XCTAssertEqual(a.spearmanRho, b.spearmanRho)
    XCTAssertEqual(a.topPrecision, b.topPrecision)
    XCTAssertTrue(a.pearsonR.isFinite)
  }

  /// Stability: 1 for identical rankings whatever their scale, the mean over pairs otherwise.
  func testStability() {
    let x = (0..<10).map(Double.init)
    XCTAssertEqual(rankingStability([x, x.map { $0 * 7 }, x.map { exp($0) }], higherIsBetter: true), 1, accuracy: 1e-12)
    XCTAssertTrue(rankingStability([x], higherIsBetter: true).isNaN)
    let reversed = x.map { -$0 }
    // Pairs: (x, x) = 1, (x, −x) = −1, (x, −x) = −1 → mean −1/3.
    XCTAssertEqual(rankingStability([x, x, reversed], higherIsBetter: true), -1.0 / 3, accuracy: 1e-12)
  }
}
