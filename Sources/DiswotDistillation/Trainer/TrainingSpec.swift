import DiswotData
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
  /// nil: plain supervised training (how a user trains a teacher). With `moreTeachers`,
  /// the first of several (its weights' metadata sets the normalisation).
  public var teacher: Teacher?
  /// The teachers after `teacher` for multi-teacher KD; nil with one teacher, so a
  /// single-teacher spec.json is unchanged. Hinton KD only: the KD term is the mix-weighted
  /// sum of each teacher's KL term (feature losses would need one student map per teacher).
  public var moreTeachers: [Teacher]?
  /// One weight per teacher, `teacher` first, each ≥ 0 and summing to 1: the share of the
  /// KD term (α·Σ_t mix_t·KD_t) each teacher gets. Given, or derived from `diswot
  /// teachers`' scores (`TeacherMix.ranked`) before the run starts, so a resumed run or a
  /// daemon job uses exactly the same numbers. Required with `moreTeachers`, nil otherwise.
  public var teacherMix: [Double]?
  /// Pseudo-label distillation (`PseudoLabelFilter`): the training labels are withheld and
  /// the teachers' (filtered) labels used instead; nil: the dataset's labels.
  public var pseudoLabels: PseudoLabelling?

  /// `pseudo_labels`: `{"filter": "none" | "confidence:τ" | "entropy:h" | "agreement"}`.
  public struct PseudoLabelling: Sendable, Codable, Equatable {
    public var filter: String

    public init(filter: String) { self.filter = filter }
  }
  /// A directory of images without labels (JPEG/PNG, found recursively, any sub-folders
  /// just more images: `ImageFolder(unlabelled:)`) that replaces the training split of
  /// `data`: the teachers label them (`pseudoLabels` is required) and the student trains on
  /// the kept ones, streamed and augmented as an image folder's training split is. `data`
  /// still gives the labelled test split, the number of classes (which the teachers' must
  /// match) and the normalisation when the teacher's weights record none.
  public var unlabelled: String?
  /// `cifar10:DIR`, `cifar100:DIR`, `mnist:DIR` or `folder:DIR`.
  public var data: String
  /// Image folders (`data` or `unlabelled`): the side of the square inputs (nil: the student's own, 32 for the
  /// CIFAR models, a space's input size). The optional fields below are absent from
  /// spec.json when nil, so runs that do not use them keep their files as they were.
  public var imageSize: Int?
  /// Image folders: the shorter side test images (and unlabelled images, to be labelled)
  /// are resized to before the centre crop (nil: round(size·8/7)).
  public var resize: Int?
  /// Image folders: leave undecodable images out of their batches, counted (nil or
  /// false: the first one stops the run with an error naming it).
  public var skipBadImages: Bool?
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
    checkpointEverySteps: Int = 0, imageSize: Int? = nil, resize: Int? = nil, skipBadImages: Bool = false
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
    self.imageSize = imageSize
    self.resize = resize
    self.skipBadImages = skipBadImages ? true : nil
  }

  /// Whether bad images are skipped.
  public var skipsBadImages: Bool { skipBadImages ?? false }

  /// Every field's accepted range, one place for `diswot train`'s options, the daemon's
  /// `train.start` and Docs/protocol.md.
  public enum Limits {
    public static let imageLimit = 1...10_000_000
    public static let epochs = 1...100_000
    public static let batch = 1...4096
    public static let learningRate = 1e-9...100.0
    public static let momentum = 0.0...1.0
    public static let weightDecay = 0.0...1.0
    public static let crossEntropyWeight = 0.0...1e6
    public static let kdWeight = 0.0...1e6
    public static let featureWeight = 0.0...1e9
    public static let temperature = 0.01...1000.0
    /// Label smoothing ε: 1 would leave no signal of the true class.
    public static let labelSmoothing = 0.0...0.999
    public static let checkpointEverySteps = 0...10_000_000
    public static let imageSize = 8...4096
    public static let resize = 8...8192
  }

  /// Checks every field that needs no file, naming the first bad one: ranges, the
  /// student's and the data's form, the schedule (parsed against the learning rate and the
  /// epochs) and the optimiser's settings. `diswot train` (through `Trainer`) and the
  /// daemon's `train.start` call this, so a spec is accepted or refused alike, before any
  /// data is read; what needs files (weights, the dataset, a search space) is checked
  /// where they are opened. `studentGiven` false checks a `train.start` spec whose student
  /// the daemon will take from a search (the client checks the rest before sending it).
  public func validate(studentGiven: Bool = true) throws(TrainingError) {
    func fail(_ m: String) -> TrainingError { .invalidSpec(m) }
    func check<T: Comparable>(_ name: String, _ value: T, _ range: ClosedRange<T>) throws(TrainingError) {
      guard range.contains(value) else { throw fail("\(name) must be between \(range.lowerBound) and \(range.upperBound), got \(value)") }
    }
    if let trainLimit { try check("train_limit", trainLimit, Limits.imageLimit) }
    if let testLimit { try check("test_limit", testLimit, Limits.imageLimit) }
    try check("epochs", epochs, Limits.epochs)
    try check("batch", batch, Limits.batch)
    try check("lr", learningRate, Limits.learningRate)
    try check("momentum", momentum, Limits.momentum)
    try check("weight_decay", weightDecay, Limits.weightDecay)
    try check("label_smoothing", labelSmoothing, Limits.labelSmoothing)
    try check("checkpoint_every_steps", checkpointEverySteps, Limits.checkpointEverySteps)
    try check("weights.crossEntropy (γ)", weights.crossEntropy, Limits.crossEntropyWeight)
    try check("weights.kd (α)", weights.kd, Limits.kdWeight)
    try check("weights.feature (β)", weights.feature, Limits.featureWeight)
    try check("weights.temperature (T)", weights.temperature, Limits.temperature)
    guard !studentGiven || (student.name == nil) != (student.space == nil || student.arch == nil) else {
      throw fail("give the student as a name, or as a search space and an architecture")
    }
    if let shortcut = student.shortcut, !["A", "B"].contains(shortcut.uppercased()) {
      throw fail("student.shortcut must be A or B, got \(shortcut)")
    }
    if let teacher, teacher.weights.isEmpty { throw fail("teacher.weights must name a weights file") }
    if teacher == nil && distill != .none { throw fail("distill \(distill.rawValue) needs a teacher") }
    if let moreTeachers {
      guard teacher != nil, !moreTeachers.isEmpty else { throw fail("more_teachers needs a first teacher and at least one more") }
      if moreTeachers.contains(where: \.weights.isEmpty) { throw fail("every teacher's weights must name a weights file") }
      guard distill == .kd else { throw fail("several teachers distil with kd only, not \(distill.rawValue)") }
      guard let teacherMix, teacherMix.count == moreTeachers.count + 1 else {
        throw fail("teacher_mix needs one weight per teacher (\(moreTeachers.count + 1)), got \(teacherMix?.count ?? 0)")
      }
      guard teacherMix.allSatisfy({ $0.isFinite && $0 >= 0 }), abs(teacherMix.reduce(0, +) - 1) <= 1e-6 else {
        throw fail("teacher_mix must be weights ≥ 0 summing to 1, got \(teacherMix)")
      }
    } else if teacherMix != nil {
      throw fail("teacher_mix is for several teachers (more_teachers)")
    }
    if let unlabelled {
      guard !unlabelled.isEmpty else { throw fail("unlabelled must name a directory of images") }
      guard teacher != nil else { throw fail("unlabelled images need a teacher to label them (teacher.weights)") }
      guard pseudoLabels != nil else { throw fail("unlabelled images need pseudo_labels: the teachers label them, filtered") }
    }
    if let pseudoLabels {
      guard teacher != nil else { throw fail("pseudo_labels needs a teacher to label the images") }
      if try PseudoLabelFilter(parsing: pseudoLabels.filter) == .agreement && (moreTeachers ?? []).isEmpty {
        throw fail("pseudo_labels.filter agreement needs several teachers")
      }
    }
    let dataSpec: DataSpec
    do { dataSpec = try DataSpec(parsing: data) } catch { throw fail("data: \(error)") }
    if dataSpec == .gaussian { throw fail("data: training needs a labelled dataset (cifar10:DIR, cifar100:DIR, mnist:DIR or folder:DIR), not gaussian") }
    if let imageSize { try check("image_size", imageSize, Limits.imageSize) }
    if let resize { try check("resize", resize, Limits.resize) }
    if case .folder = dataSpec {} else if unlabelled == nil {
      for (name, given) in [("image_size", imageSize != nil), ("resize", resize != nil)] where given {
        throw fail("\(name) applies to image folders (folder:DIR or unlabelled), not \(data)")
      }
    }
    if let imageSize, let resize, resize < imageSize {
      throw fail("resize \(resize) is smaller than the \(imageSize)×\(imageSize) crop it is cut from")
    }
    do { _ = try LearningRateSchedule(parsing: schedule, baseLearningRate: learningRate, totalEpochs: epochs) } catch {
      throw fail("schedule: \(error)")
    }
    do { _ = try SGD(momentum: momentum, weightDecay: weightDecay, nesterov: nesterov) } catch { throw fail("\(error)") }
  }

  enum CodingKeys: String, CodingKey {
    case student, teacher, data, epochs, batch, schedule, momentum, nesterov, distill, weights, augment, seed
    case trainLimit = "train_limit", testLimit = "test_limit", learningRate = "lr", weightDecay = "weight_decay"
    case labelSmoothing = "label_smoothing", checkpointEverySteps = "checkpoint_every_steps"
    case imageSize = "image_size", resize, skipBadImages = "skip_bad_images"
    case moreTeachers = "more_teachers", teacherMix = "teacher_mix", pseudoLabels = "pseudo_labels", unlabelled
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
