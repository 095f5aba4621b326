import DiswotCommandLine
import DiswotDistillation
import DiswotFiles
import DiswotJSON
import DiswotModels
import DiswotScoring
import DiswotTensor
import DiswotWire
import Foundation

/// `diswot train`: train a student, by knowledge distillation from a teacher or alone.
enum TrainCommand {
  static let spec = CommandSpec(
    "train", abstract: "Train a student by knowledge distillation (or plain supervised training).",
    discussion: """
      The student is a model name (--student resnet20, resnet-d1_1_1-w32_64_128 or SPACE:KEY) \
      or an architecture of a search space (--space F --arch JSON). With --teacher-weights it is distilled: loss = γ·CE + α·KD + \
      β·feature loss (RepDistiller's convention; defaults γ 0.1, α 0.9, T 4, β per method). \
      Without a teacher it trains on the labels alone. --out DIR receives spec.json, \
      checkpoints, metrics.jsonl and, at the end, student.safetensors (PyTorch names); \
      --resume DIR continues an interrupted run exactly. A run that diverges — a step's loss \
      not finite or above 10^4 — stops with exit 1, keeps its last checkpoint and writes no \
      student.
      """,
    options: trainingOptions + localOptions)

  /// What a training run is, wherever it runs: `train` and `train start` (which sends them
  /// to diswotd) both take these.
  static let trainingOptions: [OptionSpec] = [
    .value("student", valueName: "model", help: "Student: a model name (resnet20, resnet-d1_1_1-w32_64_128, SPACE:KEY)."),
    .value("student-shortcut", valueName: "A|B", help: "Shortcut of a named student (default A)."),
    .value("space", valueName: "file|name", help: "Student from a search space, with --arch."),
    .value("arch", valueName: "json", help: "The student's architecture in --space."),
    .value("teacher", valueName: "model", help: "Expected teacher architecture, a model name (checked against the weights, which name it otherwise)."),
    .value("teacher-weights", valueName: "file", help: "Teacher weights (safetensors); omit to train without a teacher."),
    .value("data", valueName: "spec", help: "Dataset: cifar10:DIR, cifar100:DIR or mnist:DIR."),
    .value("train-limit", valueName: "n", help: "Train on the first n images only."),
    .value("test-limit", valueName: "n", help: "Evaluate on the first n test images only."),
    .value("epochs", valueName: "n", default: "240", help: "Epochs."),
    .value("batch", valueName: "n", default: "64", help: "Batch size."),
    .value("lr", valueName: "rate", default: "0.05", help: "Base learning rate."),
    .value("schedule", valueName: "spec", default: "multistep:150,180,210", help: "multistep:E1,E2,…[,gamma=G] | cosine[:min=LR], +warmup:W, +per-step."),
    .value("momentum", valueName: "m", default: "0.9", help: "SGD momentum."),
    .value("weight-decay", valueName: "wd", default: "0.0005", help: "Weight decay."),
    .flag("nesterov", help: "Nesterov momentum."),
    .value("distill", valueName: "method", default: "kd", help: "kd, sp, ickd, at, fitnet, diswot or none."),
    .value("gamma", valueName: "γ", help: "Weight of cross-entropy (default 0.1 with a teacher, 1 without)."),
    .value("alpha", valueName: "α", help: "Weight of Hinton KD (default 0.9)."),
    .value("beta", valueName: "β", help: "Weight of the feature loss (default per method)."),
    .value("T", valueName: "temperature", help: "KD temperature (default 4)."),
    .value("label-smoothing", valueName: "ε", default: "0", help: "Label smoothing of the cross-entropy."),
    .flag("no-augment", help: "Train without random crops and flips."),
    .value("seed", valueName: "n", default: "0", help: "Seed for initialisation, shuffling and augmentation."),
    .value("checkpoint-every", valueName: "steps", default: "0", help: "Also checkpoint every n steps (0: at epoch ends)."),
  ]

  /// Where and how this process runs it: the daemon keeps its runs in its state directory,
  /// its workers have their own threads and `--max-memory`.
  static let localOptions: [OptionSpec] = [
    .value("out", valueName: "dir", help: "Run directory for a new run."),
    .value("resume", valueName: "dir", help: "Continue the run in this directory (other settings are read from it)."),
    .value("threads", valueName: "n", help: "Worker threads (default: all cores)."),
    .value(
      "max-memory", valueName: "size",
      help: "Refuse a student whose estimated memory for a batch is larger: 8G, 512M, … (default: half of this machine's)."),
    .json,
  ]

  static func run(_ args: ParsedArguments) throws {
    try ScoringOptions.configureThreads(args)
    let trainer: Trainer
    let memoryLimit = try ScoringOptions.memoryLimit(args)
    if let directory = args.string("resume") {
      trainer = try Trainer(spec: nil, directory: directory, resume: true, memoryLimit: memoryLimit)
      Log.info("resuming \(directory) at epoch \(trainer.spec.epochs)")
    } else {
      guard let directory = args.string("out") else { throw args.usageError("give --out DIR for a new run, or --resume DIR") }
      trainer = try Trainer(spec: try trainingSpec(args), directory: directory, resume: false, memoryLimit: memoryLimit)
    }
    let spec = trainer.spec
    let provenance = try Provenance(
      trainingSpace: spec.student.space, studentName: spec.student.name, studentArch: spec.student.arch,
      teacherWeights: spec.teacher?.weights, data: spec.data, seed: spec.seed, version: WireProtocol.softwareVersion)
    let bar = TrainingProgressBar(label: "train")
    let result = try trainer.run { p in
      bar.show(TrainingProgress(
        epoch: p.epoch + 1, epochs: p.epochs, step: p.step, steps: p.steps, loss: p.loss, accuracy: p.trainAccuracy,
        learningRate: p.learningRate, imagesPerSecond: p.imagesPerSecond))
    }
    bar.finish()
    // The result and how it was made, printed with --json and kept beside the student.
    var report = try JSONValue.encoding(result).objectValue ?? [:]
    report["spec"] = try .encoding(provenance)
    let reportPath = trainer.directory + "/report.json"
    do {
      try DurableFile.writeAtomically(path: reportPath, bytes: Array(try JSONText.data(JSONValue.object(report), pretty: true)))
    } catch let error as DurableFileError {
      throw CommandLineError.failure("cannot write \(reportPath): \(error.reason)")
    }
    if args.flag("json") {
      try JSONOutput.print(JSONValue.object(report))
    } else {
      print(String(format: "test accuracy %.2f %% (%d/%d) after %d epochs, %.0f s; student: %@",
                   result.testAccuracy * 100, result.testCorrect, result.testSamples, result.epochs, result.seconds, result.studentPath))
    }
  }

  /// The spec the options describe, checked by `TrainingSpec.validate()` (the daemon's
  /// check too): a refused value is a usage error (exit 2) before any file is opened.
  /// `studentGiven` false for `train start --search`, whose student the daemon fills in.
  static func trainingSpec(_ args: ParsedArguments, studentGiven: Bool = true) throws -> TrainingSpec {
    let arch = try args.string("arch").map { text throws in
      guard let json = JSONValue.parse(text) else { throw CommandLineError.usage("--arch is not valid JSON: \(text)") }
      return json
    }
    let teacher = args.string("teacher-weights").map { TrainingSpec.Teacher(name: args.string("teacher"), weights: $0) }
    guard let distill = FeatureDistillation(rawValue: args.string("distill", default: "kd")) else {
      throw args.usageError("--distill must be one of \(FeatureDistillation.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    let method = teacher == nil ? FeatureDistillation.none : distill
    var weights = LossWeights.cifarDefault(for: method)
    if let g = try args.double("gamma", range: TrainingSpec.Limits.crossEntropyWeight) { weights.crossEntropy = g }
    if let a = try args.double("alpha", range: TrainingSpec.Limits.kdWeight) { weights.kd = a }
    if let b = try args.double("beta", range: TrainingSpec.Limits.featureWeight) { weights.feature = b }
    if let t = try args.double("T", range: TrainingSpec.Limits.temperature) { weights.temperature = t }
    if teacher == nil && args.isSet("distill") && distill != .none {
      throw args.usageError("--distill \(distill.rawValue) needs --teacher-weights")
    }
    let spec = TrainingSpec(
      student: .init(name: args.string("student"), shortcut: args.string("student-shortcut"), space: args.string("space"), arch: arch),
      teacher: teacher, data: try args.require("data"),
      trainLimit: try args.int("train-limit", range: TrainingSpec.Limits.imageLimit),
      testLimit: try args.int("test-limit", range: TrainingSpec.Limits.imageLimit),
      epochs: try args.int("epochs", range: TrainingSpec.Limits.epochs)!, batch: try args.int("batch", range: TrainingSpec.Limits.batch)!,
      learningRate: try args.double("lr", range: TrainingSpec.Limits.learningRate)!, schedule: args.string("schedule", default: "multistep:150,180,210"),
      momentum: try args.double("momentum", range: TrainingSpec.Limits.momentum)!,
      weightDecay: try args.double("weight-decay", range: TrainingSpec.Limits.weightDecay)!,
      nesterov: args.flag("nesterov"), distill: method, weights: weights,
      labelSmoothing: try args.double("label-smoothing", range: TrainingSpec.Limits.labelSmoothing)!, augment: !args.flag("no-augment"),
      seed: UInt64(try args.int("seed", range: 0...Int.max)!),
      checkpointEverySteps: try args.int("checkpoint-every", range: TrainingSpec.Limits.checkpointEverySteps)!)
    do { try spec.validate(studentGiven: studentGiven) } catch {
      guard case .invalidSpec(let message) = error else { throw error }
      throw args.usageError(message)
    }
    return spec
  }
}
