import DiswotModels
import DiswotScoring
import DiswotTensor
import DiswotTestSupport
import XCTest

final class NASWOTTests: XCTestCase {
  /// B = 3, 4 units. Codes 1010, 0110, 0001; Hamming distances 2 (0–1), 3 (0–2), 3 (1–2),
  /// so K_H = [[4, 2, 1], [2, 4, 1], [1, 1, 4]], det = 4·15 − 2·7 + 1·(−2) = 44.
  func testTinyKernelByHand() throws {
    let observer = NASWOTObserver(batchSize: 3)
    observer.observeActivation(tensor([3, 4], [1, 0, 2, 0, 0, 3, 1, 0, 0, 0, 0, 5]))
    XCTAssertEqual(observer.kernel, [4, 2, 1, 2, 4, 1, 1, 1, 4])
    XCTAssertEqual(observer.unitCount, 4)
    XCTAssertEqual(try observer.score(), log(44), accuracy: 1e-12)
  }

  /// N_A − Hamming over explicitly concatenated codes, and log det by Cholesky (K_H is a
  /// sum of Gram matrices, so positive semi-definite): an independent route to the score.
  private func naive(_ outputs: [Tensor], batch b: Int) -> (kernel: [Double], logDet: Double) {
    var codes = [[Bool]](repeating: [], count: b)
    for output in outputs {
      let n = output.count / b
      for i in 0..<b { codes[i] += (0..<n).map { output.storage[i * n + $0] > 0 } }
    }
    var k = [Double](repeating: 0, count: b * b)
    for i in 0..<b {
      for j in 0..<b { k[i * b + j] = Double(zip(codes[i], codes[j]).filter { $0 == $1 }.count) }
    }
    var l = [Double](repeating: 0, count: b * b)
    var logDet = 0.0
    for j in 0..<b {
      var d = k[j * b + j]
      for p in 0..<j { d -= l[j * b + p] * l[j * b + p] }
      l[j * b + j] = d.squareRoot()
      logDet += 2 * log(l[j * b + j])
      for i in (j + 1)..<b {
        var s = k[i * b + j]
        for p in 0..<j { s -= l[i * b + p] * l[j * b + p] }
        l[i * b + j] = s / l[j * b + j]
      }
    }
    return (k, logDet)
  }

  private func reluOutput(_ shape: [Int], _ rng: inout SeededGenerator) -> Tensor {
    var t = Tensor.normal(shape, using: &rng)
    relu_forward(&t)
    return t
  }

  func testMatchesNaiveImplementation() throws {
    var rng = SeededGenerator(seed: 11)
    let b = 6
    let outputs = [reluOutput([b, 2, 3, 3], &rng), reluOutput([b, 5], &rng), reluOutput([b, 4, 2, 2], &rng)]
    let observer = NASWOTObserver(batchSize: b)
    for output in outputs { observer.observeActivation(output) }
    let expected = naive(outputs, batch: b)
    XCTAssertEqual(observer.kernel, expected.kernel)
    XCTAssertEqual(observer.unitCount, 18 + 5 + 16)
    XCTAssertEqual(try observer.score(), expected.logDet, accuracy: 1e-9)
  }

  /// Two ReLU outputs observed one after the other give exactly the kernel of their
  /// per-sample concatenation observed at once.
  func testAccumulationEqualsConcatenation() throws {
    var rng = SeededGenerator(seed: 12)
    let b = 5
    let first = reluOutput([b, 3, 2, 2], &rng), second = reluOutput([b, 7], &rng)
    var joined = Tensor(zeros: [b, 19])
    for i in 0..<b {
      for u in 0..<12 { joined.storage[i * 19 + u] = first.storage[i * 12 + u] }
      for u in 0..<7 { joined.storage[i * 19 + 12 + u] = second.storage[i * 7 + u] }
    }
    let separate = NASWOTObserver(batchSize: b), together = NASWOTObserver(batchSize: b)
    separate.observeActivation(first)
    separate.observeActivation(second)
    together.observeActivation(joined)
    XCTAssertEqual(separate.kernel, together.kernel)
    XCTAssertEqual(try separate.score(), try together.score())
  }

  /// Two samples with the same codes make K_H singular: −infinity, as slogdet's log|det|.
  func testDuplicateSamplesGiveMinusInfinity() throws {
    let observer = NASWOTObserver(batchSize: 3)
    observer.observeActivation(tensor([3, 3], [1, 0, 2, 5, 0, 7, 0, 1, 0]))
    XCTAssertEqual(try observer.score(), -.infinity)
    XCTAssertEqual(try NASWOTObserver(batchSize: 2).score(), -.infinity)
  }

  func testWrongBatchIsReported() {
    let observer = NASWOTObserver(batchSize: 3)
    observer.observeActivation(Tensor(zeros: [2, 4]))
    XCTAssertThrowsError(try observer.score())
  }

  /// A whole ResNet-20 pass: every ReLU is seen, the score is finite, the model unchanged.
  func testResNet20() throws {
    let model = randomResNet(try ModelZoo.description(named: "resnet20"), seed: 4)
    let before = model.bn1.state
    var rng = SeededGenerator(seed: 5)
    let x = Tensor.normal([8, 3, 32, 32], using: &rng)
    let observer = NASWOTObserver(batchSize: 8)
    _ = try model.classify(x, mode: ForwardMode(batchNorm: .training(updateRunningStatistics: false), observer: observer))
    // Stem 16·32² plus two ReLUs in each of 3 blocks per stage: 16·32², 32·16², 64·8².
    XCTAssertEqual(observer.unitCount, 16 * 1024 + 6 * (16 * 1024 + 32 * 256 + 64 * 64))
    let score = try naswotScore(forward: { x, mode in try model.classify(x, mode: mode) }, input: x)
    XCTAssertTrue(score.isFinite)
    XCTAssertEqual(score, try observer.score())
    XCTAssertEqual(model.bn1.state, before)
  }

  /// A matrix needing a row exchange: [[0, 1], [2, 3]] has det −2.
  func testLogAbsDeterminantPivots() {
    XCTAssertEqual(logAbsDeterminant([0, 1, 2, 3], order: 2), log(2), accuracy: 1e-15)
    XCTAssertEqual(logAbsDeterminant([1, 2, 2, 4], order: 2), -.infinity)
    XCTAssertEqual(logAbsDeterminant([], order: 0), 0)
  }
}
