import DiswotJSON

/// Everything that determines a training run, as data: `diswot train` builds one from its
/// options, the daemon will send one to a training worker, and the run's directory keeps
/// it (`spec.json`) so `--resume` continues exactly the same run.
public struct TrainingSpec: Sendable, Codable, Equatable {
  /// The network being trained.
  public struct Student: Sendable, Codable, Equatable {
    /// A named model (`resnet20`), or nil when `space` and `arch` give it.
    public var name: String?
    /// Shortcut type of a named ResNet (default A).
    public var shortcut: String?
    /// A search space (path or name) and an architecture of it (its JSON genotype).
    public var space: String?
    public var arch: JSONValue?

    public init(name: String? = nil, shortcut: String? = nil, space: String? = nil, arch: JSONValue? = nil) {
      self.name = name
      self.shortcut = shortcut
      self.space = space
      self.arch = arch
    }
  }

  /// A pretrained teacher; the architecture is read off the weights.
  public struct Teacher: Sendable, Codable, Equatable {
    public var name: String?
    public var weights: String

    public init(name: String? = nil, weights: String) {
      self.name = name
      self.weights = weights
    }
  }

  public var student: Student
  /// nil: plain supervised training (how a user trains a teacher).
  public var teacher: Teacher?
  /// `cifar10:DIR`, `cifar100:DIR` or `mnist:DIR`.
  public var data: String
  /// Use only the first n training / test images (quick runs and tests).
  public var trainLimit: Int?
  public var testLimit: Int?
  public var epochs: Int
  public var batch: Int
  public var learningRate: Double
  /// Learning-rate schedule in `LearningRateSchedule`'s syntax (`multistep:150,180,210`, `cosine`, …).
  public var schedule: String
  public var momentum: Double
  public var weightDecay: Double
  public var nesterov: Bool
  public var distill: FeatureDistillation
  public var weights: LossWeights
  public var labelSmoothing: Double
  public var augment: Bool
  public var seed: UInt64
  /// Also checkpoint every n steps inside an epoch (0: at epoch ends only).
  public var checkpointEverySteps: Int

  public init(
    student: Student, teacher: Teacher? = nil, data: String, trainLimit: Int? = nil, testLimit: Int? = nil,
    epochs: Int = 240, batch: Int = 64, learningRate: Double = 0.05, schedule: String = "multistep:150,180,210",
    momentum: Double = 0.9, weightDecay: Double = 5e-4, nesterov: Bool = false, distill: FeatureDistillation = .kd,
    weights: LossWeights? = nil, labelSmoothing: Double = 0, augment: Bool = true, seed: UInt64 = 0,
    checkpointEverySteps: Int = 0
  ) {
    self.student = student
    self.teacher = teacher
    self.data = data
    self.trainLimit = trainLimit
    self.testLimit = testLimit
    self.epochs = epochs
    self.batch = batch
    self.learningRate = learningRate
    self.schedule = schedule
    self.momentum = momentum
    self.weightDecay = weightDecay
    self.nesterov = nesterov
    let method = teacher == nil ? FeatureDistillation.none : distill
    self.distill = method
    self.weights = weights ?? .cifarDefault(for: method)
    self.labelSmoothing = labelSmoothing
    self.augment = augment
    self.seed = seed
    self.checkpointEverySteps = checkpointEverySteps
  }

  /// Checks ranges and combinations, naming the first bad field.
  public func validate() throws(TrainingError) {
    func fail(_ m: String) -> TrainingError { .invalidSpec(m) }
    guard (1...100_000).contains(epochs) else { throw fail("epochs must be between 1 and 100000, got \(epochs)") }
    guard (1...4096).contains(batch) else { throw fail("batch must be between 1 and 4096, got \(batch)") }
    guard learningRate > 0, learningRate.isFinite else { throw fail("learning rate must be positive, got \(learningRate)") }
    guard (0..<1).contains(labelSmoothing) else { throw fail("label smoothing must be in [0, 1), got \(labelSmoothing)") }
    guard checkpointEverySteps >= 0 else { throw fail("checkpoint interval must be ≥ 0") }
    guard (student.name == nil) != (student.space == nil || student.arch == nil) else {
      throw fail("give the student as a name, or as a search space and an architecture")
    }
    if teacher == nil && distill != .none { throw fail("--distill \(distill.rawValue) needs a teacher") }
    for (name, w) in [("gamma", weights.crossEntropy), ("alpha", weights.kd), ("beta", weights.feature), ("T", weights.temperature)]
    where !(w >= 0 && w.isFinite) {
      throw fail("\(name) must be a finite non-negative number, got \(w)")
    }
    guard weights.temperature > 0 else { throw fail("T must be positive") }
  }

  enum CodingKeys: String, CodingKey {
    case student, teacher, data, epochs, batch, schedule, momentum, nesterov, distill, weights, augment, seed
    case trainLimit = "train_limit", testLimit = "test_limit", learningRate = "lr", weightDecay = "weight_decay"
    case labelSmoothing = "label_smoothing", checkpointEverySteps = "checkpoint_every_steps"
  }
}

/// Errors of a training run; each says what to fix.
public enum TrainingError: Error, Equatable, CustomStringConvertible {
  case invalidSpec(String)
  /// The run directory cannot be used (missing files on resume, an existing run without --resume).
  case directory(String)
  /// The loss became non-finite or exceeded `Trainer.maxLoss`; the message says where.
  case diverged(String)

  public var description: String {
    switch self {
    case .invalidSpec(let m): return "invalid training settings: \(m)"
    case .directory(let m): return "training directory: \(m)"
    case .diverged(let m): return m
    }
  }
}
