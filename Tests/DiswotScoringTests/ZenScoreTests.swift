// ClassifierOutput has no public initialiser; the hand-made network below needs one.
import DiswotModels
import DiswotScoring
import DiswotTensor
import DiswotTestSupport
import XCTest

final class ZenScoreTests: XCTestCase {
  /// A "network" whose features are 2x and which reports two batch norms with channel
  /// variances (4, 16) on every pass. Then f(x) − f(x + αε) = −2αε, so
  /// Δ_r = mean over samples of Σ |2α ε_r| with ε_r redrawn here from the same seed (x
  /// first, then ε, per repeat). Each batch norm's mean variance is v = 10.
  /// Paper form: log Δ_r + 2 · log √10 per repeat.
  /// Reference form: the emulated running variance starts at 1 and moves towards 10 with
  /// momentum 0.1 on each of the 2r passes so far: 0.9^(2r) + 10·(1 − 0.9^(2r)); term
  /// 2 · ½ log of that. The score is the mean over repeats.
  func testTrivialNetworkByHand() throws {
    let shape = [3, 2, 4, 4], alpha: Float = 0.01, repeats = 2
    let forward: (Tensor, ForwardMode) throws -> ClassifierOutput = { x, mode in
      var f = x
      for i in 0..<f.count { f.storage[i] *= 2 }
      mode.observer?.observeBatchNorm(variance: [4, 16])
      mode.observer?.observeBatchNorm(variance: [4, 16])
      return ClassifierOutput(features: f, pooled: Tensor(zeros: [3, 2]), logits: Tensor(zeros: [3, 1]))
    }
    var replay = SeededGenerator(seed: 21)
    var logDeltas: [Double] = []
    for _ in 0..<repeats {
      _ = Tensor.normal(shape, using: &replay)
      let epsilon = Tensor.normal(shape, using: &replay)
      logDeltas.append(log(epsilon.storage.reduce(0.0) { $0 + Double(abs(2 * alpha * $1)) } / 3))
    }
    var paperExpected = 0.0, referenceExpected = 0.0
    for (r, logDelta) in logDeltas.enumerated() {
      paperExpected += logDelta + log(10.0.squareRoot() * 10.0.squareRoot())
      let decay = pow(0.9, Double(2 * (r + 1)))
      referenceExpected += logDelta + log(decay + 10 * (1 - decay))
    }
    var rng = SeededGenerator(seed: 21)
    let paper = try zenScore(forward: forward, inputShape: shape, repeats: repeats, batchNormScale: .batchVariance, rng: &rng)
    assertRelativelyClose(paper, paperExpected / 2, rel: 1e-4)
    rng = SeededGenerator(seed: 21)
    let reference = try zenScore(forward: forward, inputShape: shape, repeats: repeats, rng: &rng)
    assertRelativelyClose(reference, referenceExpected / 2, rel: 1e-4)
  }

  private func resnet20Forward(seed: UInt64) throws -> (ResNetCIFAR, (Tensor, ForwardMode) throws -> ClassifierOutput) {
    let model = randomResNet(try ModelZoo.description(named: "resnet20"), seed: seed)
    return (model, { x, mode in try model.classify(x, mode: mode) })
  }

  /// Finite on a Kaiming-initialised ResNet-20 at batch 4, the same for the same seed,
  /// different for another input seed, and the model's running statistics untouched.
  func testResNet20FiniteAndDeterministic() throws {
    let (model, forward) = try resnet20Forward(seed: 8)
    let before = model.stages[2][2].bn2.state
    func score(_ seed: UInt64, _ scale: ZenBatchNormScale = .reference) throws -> Double {
      var rng = SeededGenerator(seed: seed)
      return try zenScore(forward: forward, inputShape: [4, 3, 32, 32], repeats: 2, batchNormScale: scale, rng: &rng)
    }
    let first = try score(1)
    XCTAssertTrue(first.isFinite)
    XCTAssertEqual(try score(1), first)
    XCTAssertNotEqual(try score(2), first)
    XCTAssertTrue(try score(1, .batchVariance).isFinite)
    XCTAssertEqual(model.stages[2][2].bn2.state, before)
  }

  func testRejectsBadArguments() throws {
    let (_, forward) = try resnet20Forward(seed: 8)
    var rng = SeededGenerator(seed: 1)
    XCTAssertThrowsError(try zenScore(forward: forward, inputShape: [4, 3, 32, 32], repeats: 0, rng: &rng))
    XCTAssertThrowsError(try zenScore(forward: forward, inputShape: [], repeats: 1, rng: &rng))
    XCTAssertThrowsError(
      try zenScore(forward: forward, inputShape: [4, 3, 32, 32], repeats: 1, batchNormScale: .runningVariance(momentum: 0), rng: &rng))
  }
}
