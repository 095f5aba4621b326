import DiswotTensor
import XCTest

/// Central finite differences: the independent check of every backward pass.
///
/// Tests reduce an operation's output y to the scalar L = Σ y·r for a fixed random r, so
/// that dL/dy = r is the gradient fed to the backward pass, and compare the analytic
/// gradient with (L(θ + ε) − L(θ − ε)) / 2ε on a sample of coordinates. L is summed in
/// Double and the step actually taken (θ ± ε rounded to Float) is what divides, so the
/// remaining error is the Float rounding of y (≈ 1e-7·|L| / ε) plus the curvature term
/// (≈ ε²·L'''): small shapes and ε around 1e-2 keep both near 1e-4.
public enum FiniteDifference {
  /// Σ y·r in Double.
  public static func dot(_ y: Tensor, _ r: Tensor) -> Double {
    precondition(y.shape == r.shape, "dot of \(y.shape) and \(r.shape)")
    var total = 0.0
    for i in 0..<y.count { total += Double(y.storage[i]) * Double(r.storage[i]) }
    return total
  }

  /// Coordinates to probe: all of `0..<count` when there are at most `limit`, otherwise
  /// `limit` distinct ones drawn with a seeded generator (sorted).
  public static func sample(count: Int, limit: Int, seed: UInt64 = 1) -> [Int] {
    guard count > limit else { return Array(0..<count) }
    var rng = SeededGenerator(seed: seed)
    var chosen = Set<Int>()
    while chosen.count < limit { chosen.insert(Int(rng.next() % UInt64(count))) }
    return chosen.sorted()
  }

  /// dL/dθ_i by central differences for each i in `indices`, where `get(i)` reads θ_i,
  /// `set(i, v)` writes it and `loss()` evaluates L at the current θ. θ is restored.
  public static func derivatives(
    at indices: [Int], epsilon: Float, get: (Int) -> Float, set: (Int, Float) -> Void,
    loss: () throws -> Double
  ) rethrows -> [Double] {
    var result: [Double] = []
    for i in indices {
      let original = get(i)
      let plus = original + epsilon, minus = original - epsilon
      set(i, plus)
      let up = try loss()
      set(i, minus)
      let down = try loss()
      set(i, original)
      result.append((up - down) / (Double(plus) - Double(minus)))
    }
    return result
  }

  /// Central differences of a piecewise-smooth L (a network with ReLUs), where
  /// `loss()` returns L and a fingerprint of the piece it was evaluated on (which units
  /// are active). Across a kink the central difference measures neither side's slope,
  /// and no step is both small enough to avoid every kink and large enough to keep Float
  /// rounding small, so: when θ ± ε lie on another piece than θ the coordinate is retried
  /// with ε/4, and left out (nil) if that too crosses a kink.
  public static func piecewiseDerivatives<Piece: Equatable>(
    at indices: [Int], epsilon: Float, get: (Int) -> Float, set: (Int, Float) -> Void,
    loss: () throws -> (value: Double, piece: Piece)
  ) rethrows -> [Double?] {
    var result: [Double?] = []
    for i in indices {
      let original = get(i)
      let piece = try loss().piece
      var estimate: Double? = nil
      for step in [epsilon, epsilon / 4] {
        let plus = original + step, minus = original - step
        set(i, plus)
        let up = try loss()
        set(i, minus)
        let down = try loss()
        set(i, original)
        if up.piece == piece && down.piece == piece {
          estimate = (up.value - down.value) / (Double(plus) - Double(minus))
          break
        }
      }
      result.append(estimate)
    }
    return result
  }

  /// dL/dx_i of L = f(x) by central differences, for each i in `indices`.
  public static func gradient(
    of f: (Tensor) throws -> Double, at x: Tensor, indices: [Int], epsilon: Float
  ) rethrows -> [Double] {
    var probe = x
    return try derivatives(
      at: indices, epsilon: epsilon, get: { probe.storage[$0] }, set: { probe.storage[$0] = $1 },
      loss: { try f(probe) })
  }
}

/// Asserts that `analytic[i]` matches each finite-difference estimate within
/// `abs + rel·max(|analytic|, |numeric|)`, naming the first few coordinates that do not.
public func assertGradientClose(
  _ analytic: Tensor, _ numeric: [Double], at indices: [Int], abs: Double = 1e-3,
  rel: Double = 1e-2, _ message: String = "", file: StaticString = #filePath, line: UInt = #line
) {
  XCTAssertEqual(indices.count, numeric.count, "probe count \(message)", file: file, line: line)
  var failures: [String] = []
  for (i, n) in zip(indices, numeric) {
    let a = Double(analytic.storage[i])
    if !(Swift.abs(a - n) <= abs + rel * max(Swift.abs(a), Swift.abs(n))) {
      failures.append("[\(i)] analytic \(a) vs numeric \(n)")
    }
  }
  if !failures.isEmpty {
    XCTFail(
      "\(failures.count) of \(indices.count) gradient entries differ \(message): "
        + failures.prefix(5).joined(separator: "; "), file: file, line: line)
  }
}

/// `assertGradientClose` for piecewise estimates: coordinates left out (nil) are not
/// compared, but at most `maxSkipped` of them may be, so a check cannot pass by skipping.
public func assertGradientClose(
  _ analytic: Tensor, _ numeric: [Double?], at indices: [Int], abs: Double = 1e-3,
  rel: Double = 1e-2, maxSkipped: Double = 0.25, _ message: String = "",
  file: StaticString = #filePath, line: UInt = #line
) {
  let kept = zip(indices, numeric).compactMap { i, n in n.map { (i, $0) } }
  XCTAssertLessThanOrEqual(
    Double(indices.count - kept.count), maxSkipped * Double(indices.count),
    "too many coordinates near a kink \(message)", file: file, line: line)
  assertGradientClose(
    analytic, kept.map(\.1), at: kept.map(\.0), abs: abs, rel: rel, message, file: file, line: line)
}
