import DiswotModels
import DiswotTensor

/// MeCo (Jiang et al., NeurIPS 2023, "MeCo: Zero-Shot NAS with One Data and Single
/// Forward Pass via Minimum Eigenvalue of Correlation"): how linearly independent the
/// channels of a network's feature maps are.
///
/// For one image and one feature map [C, H, W], the C channels are C variables observed
/// at H·W positions; their Pearson correlation matrix is C×C and its smallest eigenvalue
/// is 0 when some channel is a linear combination of others (dead or duplicated
/// channels: capacity the network has but does not use) and approaches 1 when the
/// channels are uncorrelated. The score sums that eigenvalue over the network's feature
/// maps. As in the reference (its forward hook, `torch.corrcoef`, NaN entries set to 0),
/// a constant channel contributes a zero row and column, and a map with a single
/// position contributes 0. The reference hooks every module; here the maps are the ReLU
/// outputs (every nonlinearity the network computes, the same maps NASWOT reads), and
/// the eigenvalue is averaged over the first `samples` images of the batch rather than
/// read from one, to lower its variance.
public final class MeCoObserver: ForwardObserver {
  /// Images of the batch each map is read for.
  public let samples: Int
  /// Σ over maps so far of the mean over images of the smallest eigenvalue.
  public private(set) var total = 0.0
  private var failure: ScoringError?
  /// Scratch reused across maps and images, so the per-image loop allocates nothing: one
  /// image's centred map [C, H·W], its Gram [C, C] (turned into the correlation matrix in
  /// place), the Gram's diagonal [C], and LAPACK's eigenvalues and workspace.
  private var centred: [Double] = []
  private var gram: [Double] = []
  private var diagonal: [Double] = []
  private var eigenvalues: [Double] = []
  private var workspace: [Double] = []

  public init(samples: Int) {
    precondition(samples > 0, "MeCo reads at least one image")
    self.samples = samples
  }

  /// Adds one ReLU output's smallest correlation eigenvalue. output: [B, C, H, W]
  public func observeActivation(_ output: Tensor) {
    guard failure == nil, output.rank == 4 else { return }
    let (b, c, positions) = (output.shape[0], output.shape[1], output.shape[2] * output.shape[3])
    guard b > 0, c > 0, positions > 1 else { return }
    let images = min(samples, b)
    if centred.count < c * positions { centred = [Double](repeating: 0, count: c * positions) }
    if gram.count < c * c { gram = [Double](repeating: 0, count: c * c) }
    if diagonal.count < c { diagonal = [Double](repeating: 0, count: c) }
    var sum = 0.0
    for image in 0..<images {
      output.withUnsafeBufferPointer { x in
        centred.withUnsafeMutableBufferPointer { z in
          for channel in 0..<c {
            let base = (image * c + channel) * positions
            var mean = 0.0
            for p in 0..<positions { mean += Double(x[base + p]) }
            mean /= Double(positions)
            for p in 0..<positions { z[channel * positions + p] = Double(x[base + p]) - mean }
          }
        }
      }
      centred.withUnsafeBufferPointer { z in
        gram.withUnsafeMutableBufferPointer { g in
          BLAS.dsyrkUpper(n: c, k: positions, a: z.baseAddress, lda: positions, c: g.baseAddress, ldc: c)
        }
      }
      // The Gram's upper triangle becomes the full correlation matrix, a constant channel's
      // row and column zero (both triangles: LAPACK reads the one it is told).
      for i in 0..<c { diagonal[i] = gram[i * c + i] }
      for i in 0..<c {
        for j in i..<c {
          let r = diagonal[i] > 0 && diagonal[j] > 0 ? gram[i * c + j] / (diagonal[i] * diagonal[j]).squareRoot() : 0
          gram[i * c + j] = r
          gram[j * c + i] = r
        }
      }
      guard LAPACK.symmetricEigenvalues(overwriting: &gram, order: c, values: &eigenvalues, work: &workspace) else {
        failure = .invalidArgument("MeCo: the eigensolver did not converge on a \(c)-channel map")
        return
      }
      sum += eigenvalues[0]
    }
    total += sum / Double(images)
  }

  /// MeCo reads activations only.
  public func observeBatchNorm(variance: [Float]) {}

  /// Σ over maps of the smallest eigenvalue of their channel correlation.
  public func score() throws(ScoringError) -> Double {
    if let failure { throw failure }
    return total
  }
}

/// Forwards every observation to several observers, so one forward pass serves every
/// activation-reading proxy.
final class ForwardObservers: ForwardObserver {
  let observers: [ForwardObserver]
  init(_ observers: [ForwardObserver]) { self.observers = observers }
  func observeActivation(_ output: Tensor) { for o in observers { o.observeActivation(output) } }
  func observeBatchNorm(variance: [Float]) { for o in observers { o.observeBatchNorm(variance: variance) } }
}
