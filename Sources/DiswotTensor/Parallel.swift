#if canImport(Glibc)
import Glibc
#endif
import Dispatch

/// How the engine uses the machine's cores.
///
/// One rule keeps threads from oversubscribing the cores: OpenBLAS always runs
/// single-threaded inside the engine, and the engine itself splits work (images of a
/// batch, channel blocks) across `Parallel.threads` workers with
/// `DispatchQueue.concurrentPerform`. Only code that calls BLAS outside the engine
/// (the sgemm reference in the benchmark) may raise BLAS's own thread count, and it
/// restores it with `Parallel.withBLASThreads`.
public enum Parallel {
  /// Worker count for engine kernels; set once at start-up (`--threads`).
  nonisolated(unsafe) public private(set) static var threads: Int = defaultThreads

  /// All online cores.
  public static var defaultThreads: Int { max(1, System.coreCount) }

  /// Sets the engine's worker count and pins OpenBLAS to one thread.
  public static func configure(threads: Int) {
    Self.threads = max(1, threads)
    BLAS.setThreadCount(1)
  }

  /// Runs `body(i)` for `i in 0..<count`, spread over `threads` workers in contiguous
  /// chunks (so a worker touches neighbouring memory and results do not depend on
  /// scheduling: each index is computed by exactly one call).
  @inlinable
  public static func forEach(_ count: Int, _ body: (Int) -> Void) {
    let workers = min(threads, count)
    if workers <= 1 {
      for i in 0..<count { body(i) }
      return
    }
    withoutActuallyEscaping(body) { body in
      // Each index runs exactly once on one worker and kernels write disjoint output
      // ranges per index, so sharing the non-Sendable closure across workers is safe.
      nonisolated(unsafe) let body = body
      DispatchQueue.concurrentPerform(iterations: workers) { worker in
        let lo = count * worker / workers, hi = count * (worker + 1) / workers
        for i in lo..<hi { body(i) }
      }
    }
  }

  /// Runs `body` with OpenBLAS allowed `count` threads, then pins it back to one.
  public static func withBLASThreads<R>(_ count: Int, _ body: () throws -> R) rethrows -> R {
    BLAS.setThreadCount(count)
    defer { BLAS.setThreadCount(1) }
    return try body()
  }
}

/// Facts about the machine.
public enum System {
  /// Online processor count.
  public static var coreCount: Int {
    #if os(Linux)
    return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    #else
    return ProcessInfo.processInfo.activeProcessorCount
    #endif
  }
}
