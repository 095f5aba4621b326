import DiswotTensor

// Minimal driver until the benchmark suite gets its command line.
Parallel.configure(threads: Parallel.defaultThreads)
do {
  try ConvBench.run()
} catch {
  print("diswot-bench: \(error)")
}
