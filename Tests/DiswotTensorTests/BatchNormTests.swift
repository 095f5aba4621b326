import DiswotTensor
import DiswotTestSupport
import XCTest

final class BatchNormTests: XCTestCase {
  /// x = [1, 2, 3, 4] in one channel (N=2, H=1, W=2): mean 2.5, biased variance 1.25,
  /// unbiased 5/3; running stats after one step with momentum 0.1: mean 0.25,
  /// var 0.9 + 0.1·5/3 = 1.0666667.
  func testTrainingModeMatchesDefinitionWorkedByHand() throws {
    let x = tensor([2, 1, 1, 2], [1, 2, 3, 4])
    var state = BatchNormState(channels: 1)
    state.weight = tensor([1], [2])
    state.bias = tensor([1], [0.5])
    let (y, stats) = try batchnorm2d_forward_training(x, state: &state)
    let inv = 1 / (1.25 + 1e-5 as Float).squareRoot()
    assertClose(y.storage, [-1.5, -0.5, 0.5, 1.5].map { $0 * inv * 2 + 0.5 })
    assertClose(stats.mean, [2.5])
    assertClose(state.runningMean.storage, [0.25])
    assertClose(state.runningVar.storage, [0.9 + 0.1 * 5 / 3])
  }

  func testTrainingModeWithoutUpdateLeavesRunningStatistics() throws {
    let x = tensor([2, 1, 1, 2], [1, 2, 3, 4])
    var state = BatchNormState(channels: 1)
    _ = try batchnorm2d_forward_training(x, state: &state, updateRunningStatistics: false)
    XCTAssertEqual(state, BatchNormState(channels: 1))
  }

  /// Per channel, the output has zero mean and unit (biased) variance before the affine map.
  func testTrainingModeNormalisesEachChannel() throws {
    var rng = SeededGenerator(seed: 1)
    let x = Tensor.normal([4, 3, 5, 5], mean: 3, std: 2, using: &rng)
    var state = BatchNormState(channels: 3)
    let y = try batchnorm2d_forward_training(x, state: &state).output
    for ch in 0..<3 {
      var values: [Double] = []
      for n in 0..<4 { for i in 0..<25 { values.append(Double(y.storage[(n * 3 + ch) * 25 + i])) } }
      let mean = values.reduce(0, +) / 100
      let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 100
      XCTAssertEqual(mean, 0, accuracy: 1e-5)
      XCTAssertEqual(variance, 1, accuracy: 1e-3)
    }
  }

  func testInferenceModeUsesRunningStatistics() throws {
    let x = tensor([1, 2, 1, 1], [3, -1])
    var state = BatchNormState(channels: 2)
    state.runningMean = tensor([2], [1, 1])
    state.runningVar = tensor([2], [4, 0.25])
    state.weight = tensor([2], [1, 2])
    state.bias = tensor([2], [0, 1])
    let y = try batchnorm2d_forward_inference(x, state: state, eps: 0)
    assertClose(y.storage, [(3 - 1) / 2, (-1 - 1) / 0.5 * 2 + 1])
  }

  func testChannelMismatchIsAnError() {
    var state = BatchNormState(channels: 3)
    XCTAssertThrowsError(try batchnorm2d_forward_training(Tensor(zeros: [1, 2, 2, 2]), state: &state))
    XCTAssertThrowsError(try batchnorm2d_forward_inference(Tensor(zeros: [4]), state: state))
  }
}
