import DiswotModels
import DiswotTensor

/// NASWOT (Mellor et al., ICML 2021, "Neural Architecture Search without Training", final
/// version): how differently a network's ReLUs partition the probe batch.
///
/// Each sample i gets a binary code c_i ∈ {0,1}^N_A, one bit per ReLU unit of the whole
/// network (unit active: ReLU output > 0, the same test as the reference's `inp > 0` on
/// the ReLU input). The kernel K_H[i, j] = N_A − Hamming(c_i, c_j)
/// = c_i·c_j + (1 − c_i)·(1 − c_j), and the score is log |det K_H| (reference code:
/// BayesWatch/nas-without-training, score_networks.py's forward hook and scores.py's
/// `hooklogdet`, `np.linalg.slogdet(K)[1]`). Like the reference hook, K_H is summed over
/// every ReLU's output as the forward pass produces it, so the B×N_A code matrix never
/// exists: per output with n units per sample, r_i = c_i·c_i, and
///   c_i·c_j + (1 − c_i)·(1 − c_j) = 2 c_i·c_j + n − r_i − r_j,
/// one `BLAS.ssyrkUpper` of the 0/1 codes per ReLU. Its entries are integers below 2²⁴, so the
/// Float product is exact; the kernel itself accumulates in Double.
public final class NASWOTObserver: ForwardObserver {
  /// Samples per batch B.
  public let batchSize: Int
  /// K_H so far: [B, B] row-major.
  public private(set) var kernel: [Double]
  /// ReLU units per sample seen so far (N_A).
  public private(set) var unitCount = 0
  /// The first ReLU output whose shape did not fit; reported by `score()`.
  private var failure: ScoringError?
  /// Scratch reused across ReLU outputs: the 0/1 codes [B, n] and their Gram [B, B].
  private var codes: [Float] = []
  private var gram: [Float]

  public init(batchSize: Int) {
    precondition(batchSize > 0, "NASWOT needs a non-empty batch")
    self.batchSize = batchSize
    kernel = [Double](repeating: 0, count: batchSize * batchSize)
    gram = [Float](repeating: 0, count: batchSize * batchSize)
  }

  /// Adds one ReLU output's codes to the kernel. output: [B, …]
  public func observeActivation(_ output: Tensor) {
    let b = batchSize
    guard failure == nil else { return }
    guard output.rank >= 1, output.shape[0] == b else {
      failure = .shapeMismatch("ReLU output \(output.shape) in a NASWOT pass over a batch of \(b)")
      return
    }
    let n = output.count / b
    guard n > 0 else { return }
    guard n < 1 << 24 else {
      failure = .invalidArgument("a ReLU output of \(n) units per sample is too large for exact Float code products")
      return
    }
    if codes.count < b * n { codes = [Float](repeating: 0, count: b * n) }
    output.withUnsafeBufferPointer { x in
      codes.withUnsafeMutableBufferPointer { c in
        for index in 0..<(b * n) { c[index] = x[index] > 0 ? 1 : 0 }
      }
    }
    codes.withUnsafeBufferPointer { c in
      gram.withUnsafeMutableBufferPointer { g in
        BLAS.ssyrkUpper(n: b, k: n, a: c.baseAddress, lda: n, c: g.baseAddress, ldc: b)
      }
    }
    let units = Double(n)
    for i in 0..<b {
      let ri = Double(gram[i * b + i])
      for j in i..<b {
        let entry = 2 * Double(gram[i * b + j]) + units - ri - Double(gram[j * b + j])
        kernel[i * b + j] += entry
        if j != i { kernel[j * b + i] += entry }
      }
    }
    unitCount += n
  }

  /// NASWOT reads activations only.
  public func observeBatchNorm(variance: [Float]) {}

  /// log |det K_H|, or −infinity when K_H is singular (two samples with identical codes,
  /// or no ReLU seen at all), as `numpy.linalg.slogdet(K)[1]` is.
  public func score() throws(ScoringError) -> Double {
    if let failure { throw failure }
    return logAbsDeterminant(kernel, order: batchSize)
  }
}

/// NASWOT of one network on one batch: a forward pass with batch norm on batch statistics
/// (the reference scores networks in PyTorch's default training mode), running
/// statistics untouched. input: [B, …]
public func naswotScore(
  forward: (Tensor, ForwardMode) throws -> ClassifierOutput, input: Tensor
) throws -> Double {
  guard input.rank >= 1, input.shape[0] > 0 else {
    throw ScoringError.invalidArgument("NASWOT needs a non-empty batch, got input \(input.shape)")
  }
  let observer = NASWOTObserver(batchSize: input.shape[0])
  _ = try forward(input, ForwardMode(batchNorm: .training(updateRunningStatistics: false), observer: observer))
  return try observer.score()
}
