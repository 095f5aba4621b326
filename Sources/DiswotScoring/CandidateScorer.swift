import DiswotModels
import DiswotTensor

/// Scores student networks against one teacher on one probe batch.
///
/// The teacher's forward pass and everything derived from it (classifier gradient,
/// relation matrix) happen once, in `init`; scoring a candidate then costs one student
/// forward pass (plus two more per repeat for Zen-score, and for the gradient-based
/// proxies one recording forward pass with a backward pass for the loss (grad_norm, snip,
/// fisher) and one for the input Jacobian (jacob_cov), and a batch-1 forward and backward
/// pass for synflow, with two more forward passes when it overflows Float; each only when
/// asked for). Both networks run with training-mode batch norm
/// that does not update running statistics (synflow bypasses batch norm and restores
/// every state tensor it changes), so scoring never changes a model's weights or
/// statistics; gradient buffers are left zeroed. A score is a pure function of (teacher,
/// probe batch, student weights).
public final class CandidateScorer {
  public let probe: ProbeBatch
  public let proxies: [Proxy]
  public let teacher: TeacherReference
  /// Use the class-Gram semantic form even when channel counts agree.
  public let forceClassGram: Bool
  /// The teacher's relation matrix at each of its resolutions, when `relation_stages` is asked for.
  public let teacherStages: [StageRelation]

  /// What one candidate scored.
  public struct Result: Sendable {
    /// proxy name → value, for the requested proxies.
    public var scores: [String: Double]
    /// Which semantic form was used, when a DisWOT metric was requested.
    public var semanticForm: SemanticForm?
  }

  /// Images of the probe batch MeCo reads each feature map for.
  static let mecoSamples = 8

  private static var scoringMode: ForwardMode { .training(updateRunningStatistics: false) }

  /// `studentChannelOptions`, when known (a search space's possible final widths), makes
  /// every student use the class-Gram semantic form unless all of them match the teacher's
  /// channels: scores are only comparable within one form.
  public init(
    teacher model: any Classifier, probe: ProbeBatch, proxies: [Proxy], forceClassGram: Bool = false,
    studentChannelOptions: Set<Int>? = nil
  ) throws {
    guard model.classCount == probe.classCount else {
      throw ScoringError.invalidArgument("the teacher has \(model.classCount) classes, the probe labels \(probe.classCount)")
    }
    self.probe = probe
    self.proxies = proxies
    var mode = Self.scoringMode
    let stages = proxies.contains(.relationStages) ? StageFeatureObserver() : nil
    mode.observer = stages
    let reference = try TeacherReference(output: model.classify(probe.images, mode: mode), labels: probe.labels)
    teacher = reference
    teacherStages = try stages?.relations() ?? []
    self.forceClassGram = forceClassGram || studentChannelOptions.map { $0 != [reference.features.c] } ?? false
  }

  private var needsDisWOT: Bool { proxies.contains { $0 == .diswot || $0 == .semantic || $0 == .relation } }

  /// Scores one initialised student. `zenSeed` seeds Zen-score's Gaussian inputs.
  public func score(_ student: any Classifier, zenSeed: UInt64 = 0) throws -> Result {
    guard student.classCount == probe.classCount else {
      throw ScoringError.invalidArgument("the student has \(student.classCount) classes, the probe labels \(probe.classCount)")
    }
    var scores: [String: Double] = [:]
    var form: SemanticForm?
    let naswot = proxies.contains(.nwot) ? NASWOTObserver(batchSize: probe.batchSize) : nil
    let meco = proxies.contains(.meco) ? MeCoObserver(samples: Self.mecoSamples) : nil
    let stages = proxies.contains(.relationStages) ? StageFeatureObserver() : nil
    let observers: [ForwardObserver] = [naswot as ForwardObserver?, meco, stages].compactMap { $0 }
    // When backward passes on the probe batch are wanted too, this forward pass records
    // for them (the same batch statistics, so the same values) and they start from it.
    let gradientForward = gradientForwardMode(proxies)
    var recorded: (logits: Tensor, fisher: FisherObserver?)?
    if needsDisWOT || !observers.isEmpty {
      var mode = gradientForward?.mode ?? Self.scoringMode
      mode.observer = observers.count > 1 ? ForwardObservers(observers) : observers.first
      let output = try student.classify(probe.images, mode: mode)
      recorded = gradientForward.map { (output.logits, $0.fisher) }
      if needsDisWOT {
        let d = try diswotScore(student: output, teacher: teacher, forceClassGram: forceClassGram)
        form = d.form
        for proxy in proxies {
          switch proxy {
          case .diswot: scores[proxy.rawValue] = d.score
          case .semantic: scores[proxy.rawValue] = d.semantic
          case .relation: scores[proxy.rawValue] = d.relation
          default: break
          }
        }
      }
      if let naswot { scores[Proxy.nwot.rawValue] = try naswot.score() }
      if let meco { scores[Proxy.meco.rawValue] = try meco.score() }
      if let stages {
        let shared = try stages.relations { h, w in teacherStages.contains { $0.height == h && $0.width == w } }
        scores[Proxy.relationStages.rawValue] = try stageRelationDistance(student: shared, teacher: teacherStages)
          ?? relationDistance(student: relationMatrix(features: output.features), teacher: teacher.relation)
      }
    }
    // Before Zen's forward passes, which would replace the record.
    if proxies.contains(where: \.isGradientBased) {
      let values = try gradientProxyScores(
        proxies, model: student, images: probe.images, labels: probe.labels, recorded: recorded)
      for (proxy, value) in values { scores[proxy.rawValue] = value }
    }
    let shape = probe.images.shape
    if proxies.contains(.params) { scores[Proxy.params.rawValue] = Double(student.parameterCount) }
    if proxies.contains(.macs) { scores[Proxy.macs.rawValue] = Double(try student.macs(height: shape[2], width: shape[3])) }
    if proxies.contains(.zen) {
      var rng = SeededGenerator(seed: zenSeed)
      scores[Proxy.zen.rawValue] = try zenScore(
        forward: { x, mode in try student.classify(x, mode: mode) }, inputShape: shape, repeats: 1, rng: &rng)
    }
    return Result(scores: scores, semanticForm: form)
  }
}
