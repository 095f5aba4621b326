import DiswotTensor
import XCTest

final class RandomTests: XCTestCase {
  func testSameSeedSameStreamAndCodableState() throws {
    var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42)
    XCTAssertEqual((0..<5).map { _ in a.next() }, (0..<5).map { _ in b.next() })
    let saved = try JSONEncoder().encode(a)
    var restored = try JSONDecoder().decode(SeededGenerator.self, from: saved)
    XCTAssertEqual(restored.next(), a.next())
    XCTAssertNotEqual(SeededGenerator(seed: 1).state, SeededGenerator(seed: 2).state)
  }

  /// 200 000 samples: mean within 4 standard errors of 0 (4/sqrt(n) ≈ 0.009), variance
  /// within 0.02 of 1; uniform samples stay in [low, high) with mean (low + high) / 2.
  func testDistributions() {
    var rng = SeededGenerator(seed: 7)
    let n = Tensor.normal([200_000], mean: 0, std: 1, using: &rng).storage.map(Double.init)
    let mean = n.reduce(0, +) / Double(n.count)
    let variance = n.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n.count)
    XCTAssertEqual(mean, 0, accuracy: 0.009)
    XCTAssertEqual(variance, 1, accuracy: 0.02)
    let u = Tensor.uniform([200_000], low: -2, high: 3, using: &rng).storage
    XCTAssertTrue(u.allSatisfy { $0 >= -2 && $0 < 3 })
    XCTAssertEqual(u.map(Double.init).reduce(0, +) / Double(u.count), 0.5, accuracy: 0.02)
  }
}
