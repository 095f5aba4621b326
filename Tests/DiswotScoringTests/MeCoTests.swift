import DiswotModels
import DiswotScoring
import DiswotTensor
import DiswotTestSupport
import XCTest

final class MeCoTests: XCTestCase {
  /// [[2, 1], [1, 2]] has eigenvalues 1 and 3; a permuted diagonal its entries, ascending.
  func testEigenvaluesOfMatricesKnownByHand() throws {
    let pair = try XCTUnwrap(LAPACK.symmetricEigenvalues([2, 1, 1, 2], order: 2))
    XCTAssertEqual(pair[0], 1, accuracy: 1e-12)
    XCTAssertEqual(pair[1], 3, accuracy: 1e-12)
    let diagonal = try XCTUnwrap(LAPACK.symmetricEigenvalues([3, 0, 0, 0, 1, 0, 0, 0, 2], order: 3))
    for (value, expected) in zip(diagonal, [1.0, 2, 3]) { XCTAssertEqual(value, expected, accuracy: 1e-12) }
  }

  /// A random symmetric matrix: the eigenvalues sum to its trace, their squares to its
  /// squared Frobenius norm, and A − λI is singular for each of them.
  func testEigenvaluesAgreeWithTraceNormAndDeterminant() throws {
    var rng = SeededGenerator(seed: 5)
    let n = 6
    let noise = Tensor.normal([n * n], using: &rng).storage.map(Double.init)
    var a = [Double](repeating: 0, count: n * n)
    for i in 0..<n { for j in 0..<n { a[i * n + j] = noise[i * n + j] + noise[j * n + i] } }
    let values = try XCTUnwrap(LAPACK.symmetricEigenvalues(a, order: n))
    XCTAssertEqual(values, values.sorted())
    XCTAssertEqual(values.reduce(0, +), (0..<n).map { a[$0 * n + $0] }.reduce(0, +), accuracy: 1e-10)
    XCTAssertEqual(values.map { $0 * $0 }.reduce(0, +), a.map { $0 * $0 }.reduce(0, +), accuracy: 1e-9)
    for lambda in values {
      var shifted = a
      for i in 0..<n { shifted[i * n + i] -= lambda }
      XCTAssertLessThan(logAbsDeterminant(shifted, order: n), logAbsDeterminant(a, order: n) - 20)
    }
  }

  /// Channels [1, 2, 3, 4] and [1, 3, 2, 4] over four positions: deviations (−1.5, −0.5,
  /// 0.5, 1.5) and (−1.5, 0.5, −0.5, 1.5), covariance sum 4, variance sums 5, so r = 0.8
  /// and the correlation matrix's eigenvalues are 1 ± 0.8.
  func testTwoChannelsByHand() throws {
    let observer = MeCoObserver(samples: 1)
    observer.observeActivation(tensor([1, 2, 2, 2], [1, 2, 3, 4, 1, 3, 2, 4]))
    XCTAssertEqual(try observer.score(), 0.2, accuracy: 1e-12)
  }

  /// A constant channel has no correlation (NaN in `torch.corrcoef`, 0 in the reference):
  /// its zero row and column make 0 the smallest eigenvalue. Scaling or shifting a channel
  /// changes nothing.
  func testConstantChannelAndInvariance() throws {
    let dead = MeCoObserver(samples: 1)
    dead.observeActivation(tensor([1, 3, 2, 2], [1, 2, 3, 4, 5, 5, 5, 5, 4, 1, 3, 2]))
    XCTAssertEqual(try dead.score(), 0, accuracy: 1e-12)
    let affine = MeCoObserver(samples: 1)
    affine.observeActivation(tensor([1, 2, 2, 2], [10, 20, 30, 40, 7.5, 8.5, 8, 9]))
    XCTAssertEqual(try affine.score(), 0.2, accuracy: 1e-6)
  }

  /// The eigenvalue is averaged over the first `samples` images and summed over maps; maps
  /// with one position per channel, and maps that are not [B, C, H, W], add nothing.
  func testAveragesOverImagesAndSumsOverMaps() throws {
    // Image 0 as in the hand-worked case (0.2); image 1 anti-correlated (r = −1, so 0).
    let map = tensor([2, 2, 2, 2], [1, 2, 3, 4, 1, 3, 2, 4, 1, 2, 3, 4, 4, 3, 2, 1])
    let one = MeCoObserver(samples: 1)
    one.observeActivation(map)
    XCTAssertEqual(try one.score(), 0.2, accuracy: 1e-12)
    let two = MeCoObserver(samples: 2)
    two.observeActivation(map)
    two.observeActivation(map)
    two.observeActivation(tensor([2, 3, 1, 1], [1, 2, 3, 4, 5, 6]))
    two.observeActivation(tensor([2, 3], [1, 2, 3, 4, 5, 6]))
    XCTAssertEqual(try two.score(), 0.2, accuracy: 1e-12)
    // More samples than images reads every image.
    let many = MeCoObserver(samples: 8)
    many.observeActivation(map)
    XCTAssertEqual(try many.score(), 0.1, accuracy: 1e-12)
  }

  /// Through the candidate scorer: MeCo equals an observer fed the student's own forward
  /// pass (8 images), and sharing that pass with NASWOT changes neither score.
  func testScorerSharesOneForwardPassWithNASWOT() throws {
    let probe = try ProbeBatch.gaussian(batch: 10, shape: [3, 16, 16], classCount: 10, seed: 3)
    let teacher = randomResNet(ResNetDescription(blocksPerStage: [1, 1, 1], widths: [8, 16, 16], shortcut: .b), seed: 1)
    let student = randomResNet(ResNetDescription(blocksPerStage: [2, 1, 1], widths: [4, 8, 12], shortcut: .b), seed: 2)
    let direct = MeCoObserver(samples: 8)
    var mode = scoringMode
    mode.observer = direct
    _ = try student.classify(probe.images, mode: mode)
    let expected = try direct.score()
    XCTAssertGreaterThan(expected, 0)
    let alone = try CandidateScorer(teacher: teacher, probe: probe, proxies: [.meco]).score(student).scores
    let together = try CandidateScorer(teacher: teacher, probe: probe, proxies: [.nwot, .meco]).score(student).scores
    let nwotAlone = try CandidateScorer(teacher: teacher, probe: probe, proxies: [.nwot]).score(student).scores
    XCTAssertEqual(alone["meco"]!.bitPattern, expected.bitPattern)
    XCTAssertEqual(together["meco"]!.bitPattern, expected.bitPattern)
    XCTAssertEqual(together["nwot"]!.bitPattern, nwotAlone["nwot"]!.bitPattern)
  }
}
