import DiswotData
import DiswotJSON
import DiswotModels
import DiswotTensor
import Foundation

/// Trains a student, with or without a teacher, as a library: `diswot train` and the
/// daemon's training workers both drive it, with a progress callback, cancellation and a
/// run directory that makes every run resumable.
///
/// Run directory: `spec.json` (the run's settings), `checkpoint.json` (epoch, step,
/// optimiser and schedule state) naming `checkpoint-<step>.safetensors` (student weights,
/// and the FitNet regressor's under `regressor.`), `metrics.jsonl` (one line per epoch) and,
/// at the end, `student.safetensors` with PyTorch names and the architecture and
/// normalisation in its metadata. Both weights files hold each batch norm's
/// `num_batches_tracked` (I64): the training steps so far, since every step updates every
/// batch norm's running statistics once, so PyTorch loads them with `strict=True`.
public final class Trainer {
  public let spec: TrainingSpec
  public let directory: String
  let student: any Classifier
  let teacher: (any Classifier)?
  /// `spec.moreTeachers`, loaded; empty with one teacher or none.
  let moreTeachers: [any Classifier]
  /// What pseudo-labelling kept, and how accurate the labels were (`spec.pseudoLabels`).
  public let pseudoLabelReport: PseudoLabelReport?
  /// FitNet's learned 1×1 regressor from the student's to the teacher's channels.
  let regressor: Conv2d?
  static let regressorPrefix = "regressor"
  let train: TrainingData
  let test: TrainingData
  let normalization: Normalization
  let schedule: LearningRateSchedule
  var sgd: SGD
  var state: TrainingState
  /// Where the checkpoint on disk stands (epoch from 0, step within it); nil before the first.
  public internal(set) var lastCheckpoint: (epoch: Int, step: Int)?
  private let studentMetadata: [String: String]
  /// Undecodable images met so far (skipped: `spec.skipBadImages`), each counted once
  /// however many epochs meet it.
  private var skippedPaths = Set<String>()
  /// Bad training images left out while pseudo-labelling (before `onSkippedImage` can be
  /// set), told to it when the run starts; never in a batch after that.
  private var labellingSkipped: [String] = []
  /// Called once per bad image skipped (its path), train or test split, for logs.
  public var onSkippedImage: (String) -> Void = { _ in }

  /// What the progress callback receives after every step.
  public struct Progress: Sendable {
    public var epoch: Int
    public var epochs: Int
    public var step: Int
    public var steps: Int
    public var loss: Double
    public var trainAccuracy: Double
    public var learningRate: Double
    public var imagesPerSecond: Double
    /// Distinct bad images skipped so far in this process.
    public var skippedImages: Int
  }

  /// The finished run.
  public struct Result: Sendable, Codable {
    public var epochs: Int
    public var testAccuracy: Double
    public var testCorrect: Int
    public var testSamples: Int
    public var studentPath: String
    public var seconds: Double
    /// Distinct bad images skipped (train and test splits) in this process's part of the run.
    public var skippedImages: Int
    /// Pseudo-label distillation only: images labelled, kept, and the labels' accuracy.
    public var pseudoLabels: PseudoLabelReport?

    enum CodingKeys: String, CodingKey {
      case epochs, seconds
      case pseudoLabels = "pseudo_labels"
      case testAccuracy = "test_accuracy", testCorrect = "test_correct", testSamples = "test_samples"
      case studentPath = "student", skippedImages = "skipped_images"
    }
  }

  static func path(_ directory: String, _ name: String) -> String { directory + "/" + name }

  /// Whether every epoch of the run is trained (a resumed finished run has nothing to do
  /// unless given a new length).
  public var isFinished: Bool { state.epoch >= spec.epochs }

  /// Starts a new run in `directory` (created; must not hold a run already), or, with
  /// `resume`, continues the run there from its last checkpoint (`spec` is then read from
  /// the directory and the argument ignored). A student whose estimated memory for a
  /// training batch is over `memoryLimit` is refused before it is built.
  ///
  /// `epochs` (with `resume` only) sets a new length for the run, finished or not, so a
  /// run can be trained longer: at least the epochs it has begun (`TrainingError.invalidSpec`
  /// otherwise). The learning-rate schedule is recomputed for the new length and continues
  /// at the current step — for a cosine the rate jumps to the new curve's value at this
  /// point; multistep milestones and warm-up are whole epochs and do not move — and
  /// spec.json is rewritten with the new length, so a later resume continues the longer run.
  public init(
    spec given: TrainingSpec?, directory: String, resume: Bool, epochs newLength: Int? = nil,
    memoryLimit: MemoryLimit = .machineDefault
  ) throws {
    self.directory = directory
    let specPath = Self.path(directory, "spec.json")
    let fm = FileManager.default
    var spec: TrainingSpec
    var resumedState: TrainingState?
    var lengthChanged = false
    if resume {
      guard fm.fileExists(atPath: specPath) else {
        throw TrainingError.directory("\(directory) holds no run to resume (no spec.json)")
      }
      spec = try TrainingSpec.read(path: specPath)
      let state = try TrainingState.read(from: Self.path(directory, "checkpoint.json"))
      if let newLength {
        let begun = state.epoch + (state.stepInEpoch > 0 ? 1 : 0)
        guard newLength >= begun else {
          throw TrainingError.invalidSpec("the run in \(directory) has already begun \(begun) epochs; it cannot be shortened to \(newLength)")
        }
        lengthChanged = newLength != spec.epochs
        spec.epochs = newLength
      }
      resumedState = state
    } else {
      guard newLength == nil else { throw TrainingError.invalidSpec("a new length is for resumed runs; a new run takes its spec's epochs") }
      guard let given else { throw TrainingError.invalidSpec("no training settings given") }
      if fm.fileExists(atPath: specPath) {
        throw TrainingError.directory("\(directory) already holds a run; use --resume to continue it or choose another --out")
      }
      spec = given
    }
    try spec.validate()
    self.spec = spec

    let data = try DataSpec(parsing: spec.data)
    let teacherFile = try spec.teacher.map { try SafetensorsFile.read(path: $0.weights) }
    teacher = try teacherFile.map { try ModelZoo.loadAny($0, name: spec.teacher?.name) }
    let opened = try TrainingData.open(
      spec,
      normalization: { channels in
        guard let chosen = try Normalization.chosen(metadata: teacherFile?.metadata ?? [:], data: data, channels: channels) else {
          throw TrainingError.invalidSpec("no normalisation known for \(data)")
        }
        return chosen
      },
      size: { try spec.imageSize ?? Self.naturalInputSize(spec.student) })
    var train = opened.train
    (test, normalization) = (opened.test, opened.normalization)
    let classCount = opened.classCount
    if let teacher, teacher.classCount != classCount {
      throw TrainingError.invalidSpec("the teacher has \(teacher.classCount) classes, \(data) has \(classCount)")
    }
    moreTeachers = try (spec.moreTeachers ?? []).map { t in
      let model = try ModelZoo.loadAny(try SafetensorsFile.read(path: t.weights), name: t.name)
      guard model.classCount == classCount else {
        throw TrainingError.invalidSpec("the teacher \(t.weights) has \(model.classCount) classes, \(data) has \(classCount)")
      }
      return model
    }
    if let pseudo = spec.pseudoLabels, let teacher {
      // Labelling reads every training image once, un-augmented. Deterministic (frozen
      // teachers, un-augmented images), so a resumed run relabels exactly as the run it
      // continues did.
      let (teachers, mix, filter) = ([teacher] + moreTeachers, spec.teacherMix ?? [1], try PseudoLabelFilter(parsing: pseudo.filter))
      switch train {
      case .memory(let dataset):
        let (labelled, report) = try PseudoLabels.label(dataset, teachers: teachers, mix: mix, filter: filter, batch: spec.batch)
        (train, pseudoLabelReport) = (.memory(labelled), report)
      case .streamed(let images):
        let (labelled, report, skipped) = try PseudoLabels.label(
          images, truth: spec.unlabelled == nil, unlabelled: spec.unlabelled, teachers: teachers, mix: mix, filter: filter,
          batch: spec.batch)
        (train, pseudoLabelReport, labellingSkipped) = (.streamed(labelled), report, skipped)
      }
    } else {
      pseudoLabelReport = nil
    }
    self.train = train

    let budget = MemoryBudget(limit: memoryLimit, batch: spec.batch, classCount: classCount)
    let (model, metadata) = try Self.makeStudent(spec.student, budget: budget, inputShape: train.imageShape)
    student = model
    studentMetadata = metadata.merging(
      ["mean": normalization.mean.map { "\($0)" }.joined(separator: ","),
       "std": normalization.std.map { "\($0)" }.joined(separator: ","),
       "dataset": spec.data.split(separator: ":").first.map(String.init) ?? spec.data,
       "trained_by": "diswot train", "distill": spec.distill.rawValue]) { a, _ in a }
    regressor = try Self.makeRegressor(spec, student: model, teacher: teacher, inputShape: [1] + train.imageShape)
    schedule = try LearningRateSchedule(parsing: spec.schedule, baseLearningRate: spec.learningRate, totalEpochs: spec.epochs)
    sgd = try SGD(momentum: spec.momentum, weightDecay: spec.weightDecay, nesterov: spec.nesterov)

    if let resumedState {
      state = resumedState
      try sgd.restore(state.optimizer)
      try loadCheckpointWeights()
      lastCheckpoint = (state.epoch, state.stepInEpoch)
      if lengthChanged {
        state.schedule = schedule
        try spec.write(path: specPath)
      }
    } else {
      try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
      var rng = SeededGenerator(seed: spec.seed)
      student.initialize(.kaimingNormalFanOut, using: &rng)
      regressor?.initialize(.pytorchDefault, using: &rng)
      try spec.write(path: specPath)
      state = TrainingState(seed: spec.seed, optimizer: sgd.state, schedule: schedule)
    }
  }

  /// The input side a student takes when the data does not fix it (image folders): a
  /// space's own input size, 224 for torchvision's ResNets and 32 for the other named
  /// models, which are CIFAR networks.
  static func naturalInputSize(_ s: TrainingSpec.Student) throws -> Int {
    if let name = s.name {
      let resolved = try ModelName(parsing: name).resolve()
      if let space = resolved.space { return space.inputShape[1] }
      // torchvision's ImageNet ResNets are made for 224×224 crops; the CIFAR families for 32.
      if case .torchvisionResNet = resolved.network { return 224 }
      return 32
    }
    return try SearchSpace.load(path: SearchSpaceLocator.resolve(s.space!)).inputShape[1]
  }

  private static func makeStudent(
    _ s: TrainingSpec.Student, budget: MemoryBudget, inputShape: [Int]
  ) throws -> (any Classifier, [String: String]) {
    func checkMemory(_ footprint: MemoryFootprint, _ name: String) throws {
      if let why = budget.refusal(footprint, of: "the student \(name)") { throw TrainingError.invalidSpec(why) }
    }
    if let name = s.name {
      guard let shortcut = ShortcutType(rawValue: (s.shortcut ?? "A").uppercased()) else {
        throw TrainingError.invalidSpec("student shortcut must be A or B, got \(s.shortcut!)")
      }
      let resolved = try ModelName(parsing: name).resolve(
        classCount: budget.classCount, shortcut: shortcut, inputChannels: inputShape[0])
      if let space = resolved.space, space.inputShape != inputShape {
        throw TrainingError.invalidSpec("space \(space.name) takes \(space.inputShape) images, the data has \(inputShape)")
      }
      try checkMemory(try resolved.footprint(height: inputShape[1], width: inputShape[2]), name)
      return try resolved.build()
    }
    let space = try SearchSpace.load(path: SearchSpaceLocator.resolve(s.space!))
    guard space.inputShape == inputShape else {
      throw TrainingError.invalidSpec("space \(space.name) takes \(space.inputShape) images, the data has \(inputShape)")
    }
    let g = try space.genotype(fromJSON: s.arch!)
    try checkMemory(try space.footprint(of: g, classCount: budget.classCount), space.key(of: g))
    let model = try space.build(g, classCount: budget.classCount)
    return (model, space.metadata(of: g, model: model))
  }

  /// FitNet needs a regressor when it is the method; 1×1, student channels → teacher channels.
  private static func makeRegressor(
    _ spec: TrainingSpec, student: any Classifier, teacher: (any Classifier)?, inputShape: [Int]
  ) throws -> Conv2d? {
    guard spec.distill == .fitnet, let teacher else { return nil }
    let studentChannels = try featureChannels(student, inputShape: inputShape)
    let teacherChannels = try featureChannels(teacher, inputShape: inputShape)
    return try Conv2d(Conv2dGeometry(inChannels: studentChannels, outChannels: teacherChannels, kernel: 1), bias: true)
  }

  private static func featureChannels(_ model: any Classifier, inputShape: [Int]) throws -> Int {
    try model.classify(Tensor(zeros: inputShape), mode: .inference).features.c
  }
}

// MARK: - Checkpoints

extension Trainer {
  /// Everything trainable or tracked, under the names the checkpoint stores.
  func checkpointTensors() -> [(name: String, tensor: Tensor)] {
    var entries = student.stateDict()
    if let regressor {
      entries += regressor.stateDict().map { (Self.regressorPrefix + "." + $0.name, $0.tensor) }
    }
    return entries
  }

  /// Weights first (a new file per step), then the state that names them, then the old
  /// weights removed: a crash at any point leaves a consistent checkpoint behind. Weights
  /// that are not finite are never saved (`TrainingError.diverged`).
  func saveCheckpoint(epochSums: [String: JSONValue]) throws {
    let previous = state.configuration["weights"]?.stringValue
    let weightsName = "checkpoint-\(state.globalStep).safetensors"
    let tensors = checkpointTensors()
    try checkFinite(tensors)
    try SafetensorsFile.write(
      path: Self.path(directory, weightsName), tensors: tensors, metadata: studentMetadata, dtypes: student.stateDtypes)
    state.optimizer = sgd.state
    state.configuration["weights"] = .string(weightsName)
    state.configuration["epoch_sums"] = .object(epochSums)
    try state.write(to: Self.path(directory, "checkpoint.json"))
    lastCheckpoint = (state.epoch, state.stepInEpoch)
    if let previous, previous != weightsName { try? FileManager.default.removeItem(atPath: Self.path(directory, previous)) }
  }

  private func loadCheckpointWeights() throws {
    guard let name = state.configuration["weights"]?.stringValue else {
      throw TrainingError.directory("checkpoint.json names no weights file")
    }
    let file = try SafetensorsFile.read(path: Self.path(directory, name))
    let prefix = Self.regressorPrefix + "."
    try student.loadState(file.tensors.filter { !$0.key.hasPrefix(prefix) })
    if let regressor {
      try regressor.loadState(Dictionary(uniqueKeysWithValues: file.tensors.filter { $0.key.hasPrefix(prefix) }
        .map { (String($0.key.dropFirst(prefix.count)), $0.value) }))
    }
  }
}

// MARK: - The run

extension Trainer {
  /// Trains to the last epoch (or until `isCancelled` says stop: after the step in progress,
  /// or after the epoch's test evaluation, it checkpoints and throws `CancellationError`),
  /// evaluating on the test split after every epoch. A run that diverges stops with
  /// `TrainingError.diverged` (see `maxLoss`), keeping the last checkpoint and writing no
  /// student.
  public func run(progress: (Progress) -> Void = { _ in }, isCancelled: () -> Bool = { false }) throws -> Result {
    let start = Date()
    let metrics = try MetricsLog(directory: directory, discardingFromEpoch: state.epoch)
    defer { metrics.close() }
    var lastTest = (correct: 0, total: test.count)
    noteSkipped(labellingSkipped)
    while state.epoch < spec.epochs {
      let epoch = state.epoch
      let loader = try train.loader(
        batch: spec.batch, epoch: epoch, seed: spec.seed, training: true, augment: spec.augment,
        normalization: normalization, startBatch: state.stepInEpoch)
      defer { loader.cancel() }
      var sums = state.configuration["epoch_sums"]?.objectValue?.compactMapValues(\.doubleValue) ?? [:]
      let epochStart = Date()
      while let batch = try loader.nextBatch() {
        noteSkipped(batch.skipped)
        guard !batch.labels.isEmpty else {
          // Every image of the batch was bad: nothing to learn from, the epoch goes on.
          state.stepInEpoch = batch.index + 1
          continue
        }
        let lr = schedule.learningRate(epoch: epoch, step: batch.index, stepsPerEpoch: loader.batchCount)
        let stepStart = Date()
        let step = try trainStep(images: batch.images, labels: batch.labels, learningRate: lr)
        try checkLoss(step.total, epoch: epoch, step: batch.index + 1, learningRate: lr)
        let n = Double(batch.labels.count)
        for (key, value) in [("loss", step.total), ("ce", step.crossEntropy), ("kd", step.kd), ("feature", step.feature)] {
          sums[key, default: 0] += value * n
        }
        for (t, value) in step.teacherKD.enumerated() { sums["kd_teacher\(t)", default: 0] += value * n }
        sums["correct", default: 0] += Double(step.correct)
        sums["images", default: 0] += n
        sums["seconds", default: 0] += Date().timeIntervalSince(stepStart)
        state.stepInEpoch = batch.index + 1
        state.globalStep += 1
        progress(Progress(
          epoch: epoch, epochs: spec.epochs, step: batch.index + 1, steps: loader.batchCount,
          loss: sums["loss"]! / sums["images"]!, trainAccuracy: sums["correct"]! / sums["images"]!, learningRate: lr,
          imagesPerSecond: sums["images"]! / max(sums["seconds"]!, 1e-9), skippedImages: skippedPaths.count))
        let interval = spec.checkpointEverySteps
        if isCancelled() || (interval > 0 && state.globalStep % interval == 0 && state.stepInEpoch < loader.batchCount) {
          try saveCheckpoint(epochSums: sums.mapValues { .double($0) })
          if isCancelled() { throw CancellationError() }
        }
      }
      lastTest = try evaluate(test)
      let images = sums["images"] ?? 0
      var losses = ["total": (sums["loss"] ?? 0) / max(images, 1), "ce": (sums["ce"] ?? 0) / max(images, 1),
                    "kd": (sums["kd"] ?? 0) / max(images, 1), "feature": (sums["feature"] ?? 0) / max(images, 1)]
      for t in 0..<(moreTeachers.isEmpty ? 0 : moreTeachers.count + 1) {
        losses["kd_teacher\(t)"] = (sums["kd_teacher\(t)"] ?? 0) / max(images, 1)
      }
      try metrics.append(EpochMetrics(
        epoch: epoch, learningRate: schedule.learningRate(epoch: epoch, step: 0, stepsPerEpoch: loader.batchCount),
        losses: losses, teachers: teacherShares(losses),
        trainAccuracy: (sums["correct"] ?? 0) / max(images, 1),
        testAccuracy: Double(lastTest.correct) / Double(max(lastTest.total, 1)),
        imagesPerSecond: images / max(sums["seconds"] ?? 0, 1e-9), seconds: Date().timeIntervalSince(epochStart)))
      let accuracy = Double(lastTest.correct) / Double(max(lastTest.total, 1))
      if accuracy > (state.bestTestAccuracy ?? -1) { (state.bestTestAccuracy, state.bestEpoch) = (accuracy, epoch) }
      state.epoch += 1
      state.stepInEpoch = 0
      try saveCheckpoint(epochSums: [:])
      // A stop asked for during the test evaluation takes effect here, not after a
      // step of the next epoch: the checkpoint just written is the safe point.
      if isCancelled() && state.epoch < spec.epochs { throw CancellationError() }
    }
    if state.epoch == spec.epochs && lastTest.correct == 0 { lastTest = try evaluate(test) }  // resumed after the last epoch
    let studentPath = Self.path(directory, "student.safetensors")
    try SafetensorsFile.write(
      path: studentPath, tensors: student.stateDict(), metadata: studentMetadata, dtypes: student.stateDtypes)
    return Result(
      epochs: spec.epochs, testAccuracy: Double(lastTest.correct) / Double(max(lastTest.total, 1)),
      testCorrect: lastTest.correct, testSamples: lastTest.total, studentPath: studentPath,
      seconds: Date().timeIntervalSince(start), skippedImages: skippedPaths.count, pseudoLabels: pseudoLabelReport)
  }

  /// Each teacher's weight and share of an epoch's KD term (nil with one teacher or none).
  func teacherShares(_ losses: [String: Double]) -> [EpochMetrics.TeacherShare]? {
    guard !moreTeachers.isEmpty, let mix = spec.teacherMix, let first = spec.teacher else { return nil }
    let files = [first.weights] + (spec.moreTeachers ?? []).map(\.weights)
    let kd = files.indices.map { losses["kd_teacher\($0)"] ?? 0 }
    let total = zip(mix, kd).map(*).reduce(0, +)
    return files.indices.map { t in
      .init(weights: files[t], mix: mix[t], kd: kd[t], share: total > 0 ? mix[t] * kd[t] / total : mix[t])
    }
  }

  /// Top-1 hits of the student (inference-mode batch norm) on the test split, and the
  /// images it was measured on (bad images skipped are not among them).
  func evaluate(_ data: TrainingData) throws -> (correct: Int, total: Int) {
    let loader = try data.loader(batch: spec.batch, epoch: 0, seed: spec.seed, training: false, augment: false, normalization: normalization)
    defer { loader.cancel() }
    var (correct, total) = (0, 0)
    while let batch = try loader.nextBatch() {
      noteSkipped(batch.skipped)
      guard !batch.labels.isEmpty else { continue }
      correct += top1Correct(logits: try student.forward(batch.images, mode: .inference), labels: batch.labels)
      total += batch.labels.count
    }
    return (correct, total)
  }

  /// Records skipped images and tells `onSkippedImage` of those not met before.
  private func noteSkipped(_ paths: [String]) {
    for path in paths where skippedPaths.insert(path).inserted { onSkippedImage(path) }
  }
}
