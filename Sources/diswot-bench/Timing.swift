import DiswotTensor

/// Wall-clock measurement helpers shared by every benchmark.
enum Timing {
  /// Seconds `body` takes.
  static func seconds<E>(_ body: () throws(E) -> Void) throws(E) -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    try body()
    let elapsed = clock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
  }

  /// Fastest of `repeats` runs after one warm-up run (first-touch page faults, caches).
  static func best<E>(of repeats: Int, _ body: () throws(E) -> Void) throws(E) -> Double {
    try body()
    var best = Double.infinity
    for _ in 0..<repeats { best = min(best, try seconds(body)) }
    return best
  }

  /// GFLOP/s of a size³ `BLAS.sgemm`, best of `repeats`, with OpenBLAS allowed `threads`
  /// threads: the machine's dense-matrix rate every other figure is compared with.
  static func sgemmGFLOPS(size: Int = 2048, repeats: Int = 3, threads: Int) -> Double {
    var rng = SeededGenerator(seed: 1)
    let a = Tensor.uniform([size, size], low: -1, high: 1, using: &rng).storage
    let b = Tensor.uniform([size, size], low: -1, high: 1, using: &rng).storage
    var c = [Float](repeating: 0, count: size * size)
    let n = size
    let best = Parallel.withBLASThreads(threads) {
      (0..<repeats).map { _ in
        seconds { BLAS.sgemm(m: n, n: n, k: n, a: a, lda: n, b: b, ldb: n, c: &c, ldc: n) }
      }.min()!
    }
    return 2 * Double(size * size * size) / best / 1e9
  }
}
