import DiswotData
import DiswotJSON
import DiswotModels
import DiswotTensor
import Foundation

/// A ready-to-use scoring set-up built from a `ScoringSpec`: the search space, the
/// teacher's cached reference on the probe batch, and the rules for initialising students.
public final class ScoringSession {
  public let spec: ScoringSpec
  public let space: SearchSpace
  /// One scorer per probe batch (`spec.probes`), the first on the batch `spec.seed` draws.
  public let scorers: [CandidateScorer]
  /// Human-readable description of the teacher (`resnet56 (weights F)`).
  public let teacherDescription: String
  /// The teacher's architecture as `ModelName` prints it (read off its weights when it
  /// has them), e.g. `resnet56`.
  public let teacherName: String
  public let classCount: Int
  /// The ensemble's calibration on its reference sample, when `ensemble` was asked for.
  public private(set) var calibration: EnsembleCalibration?
  /// The memory check every candidate passes before it is built.
  public let memory: MemoryBudget
  private let scheme: InitializationScheme
  /// What `calibrate` needs to build the retest replica's scorers.
  private let teacher: any Classifier
  private let teacherMetadata: [String: String]
  private let channelOptions: Set<Int>?
  private let progress: ((Int, Int) -> Void)?

  /// The scorer of the first probe batch.
  public var scorer: CandidateScorer { scorers[0] }

  /// One candidate's result: what `diswot score --jsonl` prints per line.
  public struct Evaluation: Sendable, Codable {
    public var arch: JSONValue
    public var key: String
    /// Every requested proxy's value; a non-finite one is written as `null`.
    public var scores: [String: Double]
    public var params: Int
    public var macs: Int
    public var semanticForm: String?
    public var seconds: Double
    /// Why the objective (the first proxy) is unusable, when it is: the candidate is then
    /// unscorable (`Proxy.unscorableReason`). Nil, and absent from the JSON, otherwise.
    public var unscorable: String?

    public init(
      arch: JSONValue, key: String, scores: [String: Double], params: Int, macs: Int, semanticForm: String? = nil,
      seconds: Double, unscorable: String? = nil
    ) {
      self.arch = arch
      self.key = key
      self.scores = scores
      self.params = params
      self.macs = macs
      self.semanticForm = semanticForm
      self.seconds = seconds
      self.unscorable = unscorable
    }

    enum CodingKeys: String, CodingKey {
      case arch, key, scores, params, macs, seconds, unscorable
      case semanticForm = "semantic_form"
    }
  }

  /// Builds the teacher, the probe batches and their teacher references. For `ensemble`
  /// the first `evaluate` (or `calibrate`) then calibrates on the reference sample:
  /// `spec.reference.size` candidates, each scored twice (the test and its retest
  /// replica); `progress` is told after each of them. Networks whose estimated memory is
  /// over `memoryLimit` are never built: a set-up that needs one (`checkMemory`) is
  /// refused here, a candidate by `evaluate` (`ScoringError.tooLarge`).
  public init(spec: ScoringSpec, memoryLimit: MemoryLimit = .machineDefault, progress: ((Int, Int) -> Void)? = nil) throws {
    try spec.validate()
    let scheme = InitializationScheme(rawValue: spec.initialization)!
    self.spec = spec
    self.scheme = scheme
    space = try SearchSpace.load(path: SearchSpaceLocator.resolve(spec.space))
    try spec.checkMemory(space: space, limit: memoryLimit)
    memory = spec.memoryBudget(space: space, limit: memoryLimit)
    let weights = try spec.teacher.weights.map { path throws in try SafetensorsFile.read(path: path) }
    let (teacher, teacherName, description) = try Self.makeTeacher(spec, space: space, weights: weights, scheme: scheme)
    classCount = teacher.classCount
    self.teacherName = teacherName
    teacherDescription = description
    // The scorers compute the plain proxies; composite ones are derived here from theirs.
    var measured = spec.proxies.filter { !$0.isComposite }
    if spec.proxies.contains(.ensemble) {
      for c in Proxy.ensembleComponents where !measured.contains(c) { measured.append(c) }
    }
    let probes = try Self.makeProbes(spec, space: space, classCount: classCount, metadata: weights?.metadata ?? [:])
    let channelOptions = space.featureChannelOptions
    scorers = try probes.map {
      try CandidateScorer(
        teacher: teacher, probe: $0, proxies: measured, forceClassGram: spec.forceClassGram,
        studentChannelOptions: channelOptions)
    }
    self.teacher = teacher
    teacherMetadata = weights?.metadata ?? [:]
    self.channelOptions = channelOptions
    self.progress = progress
  }

  /// Calibrates the ensemble on its reference sample, once; `evaluate` calls it before the
  /// first candidate, so a command that fails on its own checks pays nothing for it.
  public func calibrate() throws {
    guard spec.proxies.contains(.ensemble), calibration == nil else { return }
    // The retest replica: the same reference architectures on other probe batches with
    // other initialisations, to measure how reliable each component is.
    // Both are single draws (one probe batch, one initialisation): the calibration
    // standardises and weighs the components of one draw, which is what the ensemble
    // aggregates, however many draws a candidate's score then averages (`evaluate`).
    var retestSpec = spec
    (retestSpec.seed, retestSpec.probes) = (spec.seed ^ Self.retestSeed, 1)
    let retestProbe = try Self.makeProbes(retestSpec, space: space, classCount: classCount, metadata: teacherMetadata)[0]
    let retestScorer = try CandidateScorer(
      teacher: teacher, probe: retestProbe, proxies: Proxy.ensembleComponents, forceClassGram: spec.forceClassGram,
      studentChannelOptions: channelOptions)
    let sample = Self.referenceSample(space: space, reference: spec.reference)
    var test: [[String: Double]] = [], retest: [[String: Double]] = []
    for (i, g) in sample.enumerated() {
      test.append(try measure(g, studentWeights: nil, scorers: [scorers[0]], seed: spec.seed, repeats: 1).draws[0])
      retest.append(try measure(g, studentWeights: nil, scorers: [retestScorer], seed: retestSpec.seed, repeats: 1).draws[0])
      if i + 1 < sample.count { progress?(i + 1, sample.count) }
    }
    calibration = try EnsembleCalibration(components: Proxy.ensembleComponents, reference: test, retest: retest)
    // The last report comes once the calibration exists, so a listener can log its weights.
    progress?(sample.count, sample.count)
  }

  /// XORed into the seed of the ensemble's retest replica ("RETEST").
  static let retestSeed: UInt64 = 0x52_4554_4553_54

  /// The architectures that calibrate the ensemble: `spec.reference.size` draws from the
  /// space with the reference's own seed (repeats included, as uniform draws).
  public static func referenceSample(space: SearchSpace, reference: ScoringSpec.Reference) -> [Genotype] {
    var rng = SeededGenerator(seed: reference.seed ^ 0x5245_4645_5245_4E43)  // "REFERENC"
    return (0..<reference.size).map { _ in space.sample(using: &rng) }
  }

  /// Scores one architecture of the space: averages `repeats` freshly initialised
  /// students on each of the `probes` batches, or scores the given weights once per batch.
  ///
  /// The ensemble is the mean of the draws' ensemble scores, not the ensemble of the
  /// draws' mean components: one draw's score is what the calibration describes, and
  /// averaging draws then estimates its expectation over probe batches and
  /// initialisations with less variance, without changing what is estimated. (The
  /// ensemble of averaged components would be another score, whose components are more
  /// reliable than the calibration says, so shrunk and weighted wrongly.)
  public func evaluate(_ g: Genotype, studentWeights: SafetensorsFile? = nil) throws -> Evaluation {
    try calibrate()
    let start = ContinuousClock.now
    var (evaluation, draws) = try measure(g, studentWeights: studentWeights, scorers: scorers, seed: spec.seed)
    if let calibration {
      evaluation.scores[Proxy.ensemble.rawValue] = draws.reduce(0) { $0 + calibration.score($1) } / Double(draws.count)
    }
    evaluation.scores = evaluation.scores.filter { name, _ in spec.proxies.contains { $0.rawValue == name } }
    evaluation.unscorable = spec.proxies[0].unscorableReason(in: evaluation.scores)
    let elapsed = ContinuousClock.now - start
    evaluation.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    return evaluation
  }

  /// Every measured proxy of one candidate, averaged over initialisations (`repeats`,
  /// default the spec's) and the probe batches of `scorers` (the session's own, or the
  /// calibration's retest replica), and each draw's values (initialisation-major);
  /// `seed` seeds the students.
  private func measure(
    _ g: Genotype, studentWeights: SafetensorsFile?, scorers: [CandidateScorer], seed: UInt64, repeats: Int? = nil
  ) throws -> (evaluation: Evaluation, draws: [[String: Double]]) {
    let key = space.key(of: g)
    var draws: [[String: Double]] = []
    var form: SemanticForm?
    var params = 0, macs = 0
    let repeats = studentWeights == nil ? repeats ?? spec.repeats : 1
    if let why = memory.refusal(of: g, in: space) { throw ScoringError.tooLarge(why) }
    for r in 0..<repeats {
      let student = try space.build(g, classCount: classCount)
      if let studentWeights {
        try student.loadState(studentWeights.tensors)
      } else {
        var rng = SeededGenerator(seed: Self.studentSeed(seed: seed, key: key, repeat: r))
        student.initialize(scheme, using: &rng)
      }
      for scorer in scorers {
        let result = try scorer.score(student, zenSeed: Self.studentSeed(seed: seed ^ 0x5A45_4E, key: key, repeat: r))
        draws.append(result.scores)
        form = result.semanticForm
      }
      params = student.parameterCount
      macs = try student.macs(height: space.inputShape[1], width: space.inputShape[2])
    }
    // Summed in draw order, as the draws were scored.
    var sums: [String: Double] = [:]
    for draw in draws {
      for (name, value) in draw { sums[name, default: 0] += value }
    }
    let count = Double(draws.count)
    let evaluation = Evaluation(
      arch: space.json(of: g), key: key, scores: sums.mapValues { $0 / count }, params: params, macs: macs,
      semanticForm: form?.rawValue, seconds: 0)
    return (evaluation, draws)
  }

  /// The seed of a student's weights: a function of the run's seed, the architecture and
  /// the repeat only, so a candidate gets the same weights whatever order, worker or
  /// process scores it.
  public static func studentSeed(seed: UInt64, key: String, repeat r: Int) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a, 64 bit
    for byte in key.utf8 {
      hash ^= UInt64(byte)
      hash = hash &* 0x0000_0100_0000_01B3
    }
    return hash ^ (seed &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(r) &* 0xD1B5_4A32_D192_ED03)
  }

  /// The teacher network, its name (`ModelName`'s form) and a description for logs.
  private static func makeTeacher(
    _ spec: ScoringSpec, space: SearchSpace, weights: SafetensorsFile?, scheme: InitializationScheme
  ) throws -> (model: any Classifier, name: String, description: String) {
    let t = spec.teacher
    let origin = t.weights.map { " (weights \($0))" }
    if let arch = t.arch {
      guard t.name == nil else { throw ScoringError.invalidArgument("give the teacher as a name or as an architecture, not both") }
      let g = try space.genotype(fromJSON: arch)
      let classes = try weights.map { try ModelZoo.classCount(in: $0) } ?? spec.classes ?? space.classCount
      let model = try space.build(g, classCount: classes)
      if let weights { try model.loadState(weights.tensors) } else { randomize(model, spec, scheme) }
      let name = ModelName.architecture(space: space.name, key: space.key(of: g)).description
      return (model, name, name + (origin ?? " (random init)"))
    }
    if let weights {
      // The architecture is read off the file; a given name must agree with it.
      let model = try ModelZoo.loadAny(weights, name: t.name)
      if let classes = spec.classes, classes != model.classCount {
        throw ScoringError.invalidArgument("--classes \(classes) but the teacher weights have \(model.classCount) classes")
      }
      let name = try ModelZoo.architecture(of: weights).name.description
      return (model, name, name + origin!)
    }
    let resolved = try spec.namedTeacher(space: space)
    let model = try resolved.build().model
    randomize(model, spec, scheme)
    var shortcut = ""
    if case .resnet(let d) = resolved.network { shortcut = " option \(d.shortcut.rawValue)" }
    return (model, resolved.name.description, "\(resolved.name)\(shortcut) (random init, seed \(spec.seed))")
  }

  private static func randomize(_ model: any Classifier, _ spec: ScoringSpec, _ scheme: InitializationScheme) {
    var rng = SeededGenerator(seed: spec.seed ^ 0x5445_4143_4845_52)  // "TEACHER"
    model.initialize(scheme, using: &rng)
  }

  /// The `spec.probes` probe batches, seeded by `spec.probeSeed(k)`; each reads only its own records.
  private static func makeProbes(
    _ spec: ScoringSpec, space: SearchSpace, classCount: Int, metadata: [String: String]
  ) throws -> [ProbeBatch] {
    let seeds = (0..<spec.probes).map(spec.probeSeed)
    let data = try DataSpec(parsing: spec.data)
    if case .gaussian = data {
      return try seeds.map {
        try ProbeBatch.gaussian(batch: spec.batch, shape: space.inputShape, classCount: classCount, seed: $0)
      }
    }
    guard let normalization = try Normalization.chosen(metadata: metadata, data: data, channels: space.inputShape[0]) else {
      throw ScoringError.invalidArgument("no normalisation known for \(data)")
    }
    return try seeds.map {
      try ProbeBatch.sample(
        from: data, normalization: normalization, batch: spec.batch, seed: $0, inputShape: space.inputShape, classCount: classCount,
        resize: spec.resize, skipBadImages: spec.skipsBadImages)
    }
  }
}
