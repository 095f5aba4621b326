/// Which feature-level distillation loss a student is trained with, beside
/// cross-entropy and Hinton KD on the logits.
public enum FeatureDistillation: String, CaseIterable, Sendable, Codable {
  /// No teacher: cross-entropy only.
  case none
  /// Logits only (Hinton KD); the feature weight β is unused.
  case kd
  /// Similarity-preserving (`similarityPreservingLoss`), RepDistiller `--distill similarity`.
  case sp
  /// Inter-channel correlation (`interChannelCorrelationLoss`), ICKD's `--distill ickd`.
  case ickd
  /// Attention transfer (`attentionTransferLoss`), RepDistiller `--distill attention`.
  case at
  /// FitNets hint (`fitNetHintLoss` after a learned regressor), RepDistiller `--distill hint`.
  case fitnet
  /// DisWOT's semantic + relation distances (`diswotDistillationLoss`).
  case diswot

  /// Whether the method adds a feature loss (weighted by β) beside the logit losses.
  public var usesFeatureLoss: Bool {
    switch self {
    case .none, .kd: return false
    case .sp, .ickd, .at, .fitnet, .diswot: return true
    }
  }

  /// The reference implementations' CIFAR-100 feature weight β for this method.
  ///
  /// From the authors' example scripts (`-b`), teacher resnet32x4 → student resnet8x4:
  /// - sp 3000, at 1000, fitnet 100: HobbitLong/RepDistiller `scripts/run_cifar_distill.sh`
  ///   (`--distill similarity … -a 0 -b 3000`, `attention … -b 1000`, `hint … -b 100`);
  /// - ickd 2.5: ADLab-AutoDrive/ICKD `Cifar100/train_student.sh`
  ///   (`--distill ickd -a 0 -b 2.5`);
  /// - diswot 1: no reference script trains with the DisWOT distances; 1 weighs them as
  ///   the DisWOT score does (semantic + relation, unweighted). Our choice, untuned;
  /// - none, kd 0 (`--distill kd … -b 0`).
  public var referenceFeatureWeight: Double {
    switch self {
    case .none, .kd: return 0
    case .sp: return 3000
    case .ickd: return 2.5
    case .at: return 1000
    case .fitnet: return 100
    case .diswot: return 1
    }
  }
}

/// How a training step's losses are combined, with every role named so that the two
/// opposite "α" conventions in the literature (α on KD vs α on cross-entropy) cannot be
/// mixed up:
///
///   loss = γ · CE(z, y) + α · KD_T(z, z_T) + β · feature loss,
///
/// exactly RepDistiller's `loss = opt.gamma * loss_cls + opt.alpha * loss_div +
/// opt.beta * loss_kd` (HobbitLong/RepDistiller `helper/loops.py`, `train_distill`; flags
/// `-r/--gamma`, `-a/--alpha`, `-b/--beta`, `--kd_T` in `train_student.py`). Note that
/// RepDistiller always computes the KD term `loss_div` and switches it off with `-a 0`.
/// Gradients combine with the same weights.
public struct LossWeights: Sendable, Equatable, Codable {
  /// γ, weight of the cross-entropy with the labels (RepDistiller `-r/--gamma`, default 1).
  public var crossEntropy: Double
  /// α, weight of Hinton KD on the logits (RepDistiller `-a/--alpha`).
  public var kd: Double
  /// β, weight of the feature loss (RepDistiller `-b/--beta`); unused for `.none`, `.kd`.
  public var feature: Double
  /// T, the KD temperature (RepDistiller `--kd_T`, default 4).
  public var temperature: Double

  public init(crossEntropy: Double, kd: Double, feature: Double, temperature: Double) {
    self.crossEntropy = crossEntropy
    self.kd = kd
    self.feature = feature
    self.temperature = temperature
  }

  /// The project's CIFAR defaults: γ = 0.1, α = 0.9, T = 4 (RepDistiller's KD setting,
  /// `run_cifar_distill.sh`: `--distill kd -r 0.1 -a 0.9 -b 0`) for every method with a
  /// teacher, plus the method's reference β (`FeatureDistillation.referenceFeatureWeight`),
  /// i.e. feature methods are trained *on top of* KD. `.none` is plain cross-entropy
  /// (γ = 1, α = 0, β = 0).
  public static func cifarDefault(for method: FeatureDistillation) -> LossWeights {
    switch method {
    case .none: return LossWeights(crossEntropy: 1, kd: 0, feature: 0, temperature: 4)
    default:
      return LossWeights(crossEntropy: 0.1, kd: 0.9, feature: method.referenceFeatureWeight, temperature: 4)
    }
  }

  /// The weights the reference scripts actually use, to reproduce their tables:
  /// kd γ = 0.1, α = 0.9, β = 0; feature methods γ = 1 (the `-r` default), α = 0, β as
  /// `referenceFeatureWeight` (RepDistiller `run_cifar_distill.sh`, ICKD
  /// `Cifar100/train_student.sh`, all `-a 0`); T = 4 throughout. `.diswot` has no
  /// reference script and follows the same pattern (γ = 1, α = 0, β = 1).
  public static func referenceScript(for method: FeatureDistillation) -> LossWeights {
    switch method {
    case .none: return LossWeights(crossEntropy: 1, kd: 0, feature: 0, temperature: 4)
    case .kd: return LossWeights(crossEntropy: 0.1, kd: 0.9, feature: 0, temperature: 4)
    default:
      return LossWeights(crossEntropy: 1, kd: 0, feature: method.referenceFeatureWeight, temperature: 4)
    }
  }

  /// γ · crossEntropy + α · kd + β · feature.
  public func combine(crossEntropy ce: Double, kd kl: Double, feature f: Double) -> Double {
    crossEntropy * ce + kd * kl + feature * f
  }
}
