/// A training-free measure of a candidate, named as on the command line (`--proxies`).
public enum Proxy: String, Sendable, Codable, CaseIterable {
  /// The default: one signal per kind — teacher similarity (relation), expressivity
  /// (meco), trainability (jacob_cov) and capacity (log_synflow) — each standardised
  /// against a fixed reference sample of the space and combined by reliability (see
  /// `EnsembleCalibration`).
  case ensemble
  /// −(semantic + relation): DisWOT's predictor of post-distillation accuracy.
  case diswot
  /// Distance of class-activation (classifier gradient) similarity matrices to the teacher's.
  case semantic
  /// Distance of batch relation (Gram) matrices to the teacher's.
  case relation
  /// The relation distance averaged over every resolution student and teacher share
  /// (`stageRelationDistance`), the last ReLU output of each size.
  case relationStages = "relation_stages"
  /// Learned parameters.
  case params
  /// Multiply-accumulates of one forward pass on one image.
  case macs
  /// NASWOT: log-determinant of the ReLU binary-code kernel (Mellor et al. 2021).
  case nwot
  /// MeCo: Σ over ReLU outputs of the smallest eigenvalue of their channel correlation
  /// matrix (Jiang et al., NeurIPS 2023).
  case meco
  /// Zen-score: feature sensitivity to Gaussian input perturbation (Lin et al. 2021).
  case zen
  /// Σ over Conv2d and Linear weights of ‖∂L/∂W‖₂, L the probe batch's mean cross-entropy
  /// (Abdelfattah et al., ICLR 2021, "Zero-Cost Proxies for Lightweight NAS").
  case gradNorm = "grad_norm"
  /// SNIP saliency Σ |∂L/∂W ⊙ W| over Conv2d and Linear weights (Lee et al. 2019, as in
  /// Abdelfattah et al. 2021).
  case snip
  /// SynFlow Σ |∂R/∂W ⊙ W| with every parameter made positive, batch norm bypassed and R
  /// the sum of the logits on one all-ones image (Tanaka et al. 2020, as in Abdelfattah et al.).
  case synflow
  /// Log-synflow Σ |W ⊙ log(1 + ∂R/∂W)| on synflow's pass (Cavagnero et al. 2022, FreeREA).
  case logSynflow = "log_synflow"
  /// Fisher: Σ over Conv2d and Linear outputs of ½·mean over the batch of (Σ_spatial
  /// act·∂L/∂act)², per channel, weighted by the layer's fan-in (Turner et al. 2020, as in
  /// Abdelfattah et al.).
  case fisher
  /// Jacobian covariance: −Σ log(λ + k) + 1/(λ + k) over the eigenvalues of the correlation
  /// matrix of the input gradients of the summed logits (Mellor et al. 2020 v1, k = 1e-5).
  case jacobCov = "jacob_cov"

  /// Whether a larger value predicts a better student (used when ranking and searching).
  public var higherIsBetter: Bool {
    switch self {
    case .semantic, .relation, .relationStages: return false
    case .ensemble, .diswot, .params, .macs, .nwot, .meco, .zen: return true
    // The reference code reports every gradient-based proxy so that larger predicts a more
    // accurate network (its rank correlations with accuracy are positive).
    case .gradNorm, .snip, .synflow, .logSynflow, .fisher, .jacobCov: return true
    }
  }

  /// The proxies that need backward passes (`gradientProxyScores` computes them).
  public var isGradientBased: Bool {
    switch self {
    case .gradNorm, .snip, .synflow, .logSynflow, .fisher, .jacobCov: return true
    case .ensemble, .diswot, .semantic, .relation, .relationStages, .params, .macs, .nwot, .meco, .zen: return false
    }
  }

  /// Computed by `ScoringSession` from other proxies and a reference sample, not by a
  /// `CandidateScorer` on its own.
  public var isComposite: Bool { self == .ensemble }

  /// The proxies `ensemble` combines, one per kind of signal.
  public static let ensembleComponents: [Proxy] = [.relation, .meco, .jacobCov, .logSynflow]

  /// Whether differences of this proxy are meaningful as ratios (sizes, saliencies,
  /// distances that span orders of magnitude), so it is standardised on a log scale;
  /// log-determinants (nwot, jacob_cov), MeCo's sum of eigenvalues and Zen (already a log)
  /// are compared as they are.
  public var comparesOnLogScale: Bool {
    switch self {
    case .params, .macs, .gradNorm, .snip, .synflow, .logSynflow, .fisher, .semantic, .relation, .relationStages: return true
    case .ensemble, .diswot, .nwot, .meco, .zen, .jacobCov: return false
    }
  }

  /// Parses a comma-separated list, rejecting unknown names with the valid ones listed.
  public static func parseList(_ names: [String]) throws(ScoringError) -> [Proxy] {
    var result: [Proxy] = []
    for name in names {
      guard let proxy = Proxy(rawValue: name) else {
        throw .invalidArgument("unknown proxy '\(name)' (known: \(allCases.map(\.rawValue).joined(separator: ", ")))")
      }
      if !result.contains(proxy) { result.append(proxy) }
    }
    guard !result.isEmpty else { throw .invalidArgument("no proxies given") }
    return result
  }
}
