import DiswotScoring
import DiswotTensor
import XCTest

/// Expected values are worked by hand below; each was also checked against scipy 1.17.1
/// (`stats.kendalltau(x, y).statistic`, `stats.spearmanr`, `stats.pearsonr`, default
/// arguments), which agrees to the last digit or two.
final class CorrelationTests: XCTestCase {
  /// x = 1…5, y = (3, 1, 2, 5, 4). Pairs (i<j) by sign of y_j − y_i: discordant (1,2),
  /// (1,3), (4,5), the other 7 concordant: tau = (7 − 3)/10 = 0.4.
  /// Rank differences (−2, 1, 1, −1, 1), Σd² = 8: rho = 1 − 6·8/(5·24) = 0.6.
  /// Centred x (−2, −1, 0, 1, 2), y (0, −2, −1, 2, 1): Σxy = 6, Σx² = Σy² = 10: r = 0.6.
  /// (scipy: 0.39999999999999997, 0.6, 0.6000000000000001)
  func testWithoutTies() {
    let x: [Double] = [1, 2, 3, 4, 5], y: [Double] = [3, 1, 2, 5, 4]
    XCTAssertEqual(kendallTau(x, y), 0.4, accuracy: 1e-12)
    XCTAssertEqual(spearmanRho(x, y), 0.6, accuracy: 1e-12)
    XCTAssertEqual(pearsonR(x, y), 0.6, accuracy: 1e-12)
  }

  /// x = (1, 2, 2, 3), y = (1, 3, 2, 2). Six pairs: (0,1), (0,2), (0,3) concordant; (1,2)
  /// tied in x; (1,3) discordant; (2,3) tied in y. tau-b = (3 − 1)/√((6 − 1)(6 − 1)) = 0.4.
  /// Average ranks x (1, 2.5, 2.5, 4), y (1, 4, 2.5, 2.5); centred (−1.5, 0, 0, 1.5) and
  /// (−1.5, 1.5, 0, 0): rho = 2.25/4.5 = 0.5. Raw centred (−1, 0, 0, 1), (−1, 1, 0, 0):
  /// r = 1/2 = 0.5. (scipy: 0.39999999999999997, 0.5000000000000001, 0.4999999999999999)
  func testWithTies() {
    let x: [Double] = [1, 2, 2, 3], y: [Double] = [1, 3, 2, 2]
    XCTAssertEqual(kendallTau(x, y), 0.4, accuracy: 1e-12)
    XCTAssertEqual(spearmanRho(x, y), 0.5, accuracy: 1e-12)
    XCTAssertEqual(pearsonR(x, y), 0.5, accuracy: 1e-12)
  }

  /// x = (1, 1, 2, 2, 3), y = (1, 1, 2, 1, 3). Ten pairs: (0,1) tied in both; (0,3), (1,3)
  /// tied in y only; (2,3) tied in x only; the other 6 concordant, none discordant. Tied
  /// pairs: in x 2, in y 3 (three 1s). tau-b = 6/√((10 − 2)(10 − 3)) = 6/√56.
  /// Ranks x (1.5, 1.5, 3.5, 3.5, 5), y (2, 2, 4, 2, 5); centred (−1.5, −1.5, .5, .5, 2)
  /// and (−1, −1, 1, −1, 2): Σ = 7, Σx² = 9, Σy² = 8: rho = 7/√72.
  /// Raw centred (−.8, −.8, .2, .2, 1.2), (−.6, −.6, .4, −.6, 1.4): 2.6/√(2.8·3.2).
  /// (scipy: 0.8017837257372731, 0.8249579113843054, 0.8685990362153791)
  func testWithJointTies() {
    let x: [Double] = [1, 1, 2, 2, 3], y: [Double] = [1, 1, 2, 1, 3]
    XCTAssertEqual(kendallTau(x, y), 6 / 56.0.squareRoot(), accuracy: 1e-12)
    XCTAssertEqual(spearmanRho(x, y), 7 / 72.0.squareRoot(), accuracy: 1e-12)
    XCTAssertEqual(pearsonR(x, y), 2.6 / (2.8 * 3.2).squareRoot(), accuracy: 1e-12)
  }

  /// The O(n log n) count against counting every pair, on lists with many ties.
  func testKendallMatchesPairCounting() {
    var rng = SeededGenerator(seed: 17)
    for n in [2, 3, 10, 101, 500] {
      let x = (0..<n).map { _ in Double(Int(rng.nextUniform() * 7)) }
      let y = (0..<n).map { _ in Double(Int(rng.nextUniform() * 5)) }
      var difference = 0, xTied = 0, yTied = 0
      for i in 0..<n {
        for j in (i + 1)..<n {
          let product = (x[j] - x[i]) * (y[j] - y[i])
          difference += product > 0 ? 1 : (product < 0 ? -1 : 0)
          if x[i] == x[j] { xTied += 1 }
          if y[i] == y[j] { yTied += 1 }
        }
      }
      let pairs = n * (n - 1) / 2
      let expected = Double(difference) / (Double(pairs - xTied) * Double(pairs - yTied)).squareRoot()
      let tau = kendallTau(x, y)
      if expected.isNaN { XCTAssertTrue(tau.isNaN, "n = \(n)") } else { XCTAssertEqual(tau, expected, accuracy: 1e-12, "n = \(n)") }
    }
  }

  func testDegenerateInputIsNaN() {
    let constant: [Double] = [0.1, 0.1, 0.1, 0.1], varying: [Double] = [1, 2, 3, 4]
    XCTAssertTrue(kendallTau(constant, varying).isNaN)
    XCTAssertTrue(spearmanRho(varying, constant).isNaN)
    XCTAssertTrue(pearsonR(constant, varying).isNaN)
    XCTAssertTrue(kendallTau([1], [2]).isNaN)
    XCTAssertTrue(pearsonR([], []).isNaN)
    XCTAssertEqual(kendallTau(varying, varying.reversed()), -1)
    XCTAssertEqual(spearmanRho(varying, varying.map { $0 * $0 }), 1, accuracy: 1e-15)
  }
}
