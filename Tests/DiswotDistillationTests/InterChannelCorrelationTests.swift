@testable import DiswotDistillation
import DiswotTensor
import DiswotTestSupport
import XCTest

final class InterChannelCorrelationTests: XCTestCase {
  /// B = 2, C = 2, H×W = 1×2. Sample 0: student channels (1, 0) and (1, 1): channel Gram
  /// [[1, 1], [1, 2]], rows (1, 1)/√2 and (1, 2)/√5; teacher channels (1, 0) and (0, 1):
  /// Gram I. Squared difference (2 − √2) + (2 − 4/√5) as in the SP case. Sample 1:
  /// student = teacher, difference 0. Divided by C·B = 4: (4 − √2 − 4/√5)/4 = 0.19923301…
  func testTinyCaseByHand() throws {
    let student = tensor([2, 2, 1, 2], [1, 0, 1, 1, /* sample 1 */ 2, 1, -1, 3])
    let teacher = tensor([2, 2, 1, 2], [1, 0, 0, 1, /* sample 1 */ 2, 1, -1, 3])
    let result = try interChannelCorrelationLoss(studentFeatures: student, teacherFeatures: teacher)
    XCTAssertEqual(result.value, (4 - 2.0.squareRoot() - 4 / 5.0.squareRoot()) / 4, accuracy: 1e-12)
  }

  /// Divided by C·B, not by H·W: replicating every position leaves E, hence the loss, unchanged
  /// up to row normalisation (E scales by 2, rownorm removes it).
  func testIndependentOfSpatialReplication() throws {
    var rng = SeededGenerator(seed: 31)
    let s = Tensor.normal([2, 3, 1, 2], using: &rng), t = Tensor.normal([2, 3, 1, 2], using: &rng)
    var s2 = Tensor(zeros: [2, 3, 1, 4]), t2 = Tensor(zeros: [2, 3, 1, 4])
    for plane in 0..<6 {
      for x in 0..<4 {
        s2.storage[plane * 4 + x] = s.storage[plane * 2 + x % 2]
        t2.storage[plane * 4 + x] = t.storage[plane * 2 + x % 2]
      }
    }
    assertRelativelyClose(
      try interChannelCorrelationLoss(studentFeatures: s2, teacherFeatures: t2).value,
      try interChannelCorrelationLoss(studentFeatures: s, teacherFeatures: t).value, rel: 1e-9)
  }

  func testGradientMatchesFiniteDifferences() throws {
    var rng = SeededGenerator(seed: 32)
    // Teacher at another resolution: only C×C matrices are compared.
    let s = Tensor.normal([3, 3, 2, 2], using: &rng), t = Tensor.normal([3, 3, 3, 3], using: &rng)
    let teacher = doubles(t)
    let analytic = try interChannelCorrelationLoss(studentFeatures: s, teacherFeatures: t)
    let numeric = finiteDifferences(doubles(s)) { x in
      LossMath.interChannelCorrelation(student: x, teacher: teacher, batch: 3, channels: 3).value
    }
    assertGradientMatches(analytic.gradient, numeric)
  }

  /// Sequential and parallel evaluation agree bit for bit (one sample per worker index).
  func testThreadCountDoesNotChangeResult() throws {
    var rng = SeededGenerator(seed: 33)
    let s = Tensor.normal([5, 4, 3, 3], using: &rng), t = Tensor.normal([5, 4, 3, 3], using: &rng)
    let saved = Parallel.threads
    defer { Parallel.configure(threads: saved) }
    Parallel.configure(threads: 1)
    let one = try interChannelCorrelationLoss(studentFeatures: s, teacherFeatures: t)
    Parallel.configure(threads: 2)
    let two = try interChannelCorrelationLoss(studentFeatures: s, teacherFeatures: t)
    XCTAssertEqual(one, two)
  }

  /// A channel that is zero everywhere (a dead ReLU channel) gives a zero Gram row: finite
  /// value and gradient.
  func testZeroChannelGivesNoNaN() throws {
    var rng = SeededGenerator(seed: 34)
    var s = Tensor.normal([2, 3, 2, 2], using: &rng)
    for i in 0..<4 { s.storage[4 + i] = 0 }  // sample 0, channel 1
    let t = Tensor.normal([2, 3, 2, 2], using: &rng)
    let result = try interChannelCorrelationLoss(studentFeatures: s, teacherFeatures: t)
    XCTAssertTrue(result.value.isFinite)
    assertFinite(result.gradient)
  }

  func testChannelMismatchAsksForAnEmbedding() {
    XCTAssertThrowsError(try interChannelCorrelationLoss(studentFeatures: Tensor(zeros: [2, 3, 2, 2]), teacherFeatures: Tensor(zeros: [2, 4, 2, 2]))) { error in
      guard case LossError.needsEmbedding(let message) = error else { return XCTFail("\(error)") }
      XCTAssertTrue(message.contains("3") && message.contains("4"), message)
    }
    XCTAssertThrowsError(try interChannelCorrelationLoss(studentFeatures: Tensor(zeros: [2, 3, 2, 2]), teacherFeatures: Tensor(zeros: [3, 3, 2, 2])))
  }
}
