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
      Without a teacher it trains on the labels alone. --data folder:DIR streams a folder of \
      JPEG/PNG images (random-resized crops and flips at --image-size, default the \
      student's; the test split resized and centre-cropped), decoded ahead on all cores; \
      --skip-bad-images counts undecodable files instead of stopping. --ignore-labels trains on \
      the teachers' labels (kept by --filter) instead of the data's; --unlabelled DIR does so on \
      a directory of images without labels, --data giving the test split and the classes. \
      --out DIR receives spec.json (every \
      setting, paths absolute), checkpoints, metrics.jsonl and, at the end, \
      student.safetensors (PyTorch names). --config FILE starts a new run from a saved \
      spec.json, each option given here overriding its field. Ctrl-C writes a checkpoint \
      after the current step and exits 130, printing the command that resumes; a second \
      Ctrl-C exits at once. --resume DIR continues an interrupted run exactly, or, with \
      --epochs N, trains a finished or interrupted run to N epochs (the learning-rate \
      schedule recomputed for N and continued at the current step); any other setting \
      with --resume is an error. A run that diverges — a step's loss not finite or above \
      10^4 — stops with exit 1, keeps its last checkpoint and writes no student.
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
    .value("teacher-weights", valueName: "file[,file…]", help: "Teacher weights (safetensors); several, comma-separated, for multi-teacher KD; omit to train without a teacher."),
    .value("teacher-mix", valueName: "w1,w2,…|ranked[:T]", help: "Several teachers' weights in the KD term: given (normalised to sum 1), or ranked: softmax of 'diswot teachers' scores / T (T 1 for log-likelihoods, 0.05 for kNN accuracies); default equal."),
    .value("data", valueName: "spec", help: "Dataset: cifar10:DIR, cifar100:DIR, mnist:DIR or folder:DIR (DIR/train/<class>/*.jpg, DIR/val/…)."),
    .value("image-size", valueName: "n", help: "Folders: input height and width (default: the student's: 224 for torchvision's ResNets, 32 for the CIFAR models)."),
    .value("resize", valueName: "n", help: "Folders: test images' (and --unlabelled images', when labelled) shorter side before the centre crop (default round(size·8/7))."),
    .flag("skip-bad-images", help: "Folders: leave out images that cannot be decoded, counted, instead of stopping at the first."),
    .flag("ignore-labels", help: "Pseudo-label distillation: withhold the training labels; the teachers label the images (the labels only measure them)."),
    .value("unlabelled", valueName: "dir", help: "Pseudo-label distillation on these images (JPEG/PNG, found recursively) instead of --data's training split; implies --ignore-labels."),
    .value("filter", valueName: "none|confidence:τ|entropy:h|agreement", help: "With --ignore-labels or --unlabelled: which pseudo-labels to keep (default none: all)."),
    .value("train-limit", valueName: "n", help: "Train on the first n images only."),
    .value("test-limit", valueName: "n", help: "Evaluate on the first n test images only."),
    .value("epochs", valueName: "n", default: "240", help: "Epochs (with --resume: the run's new length)."),
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
    .value("config", valueName: "file", help: "Settings of a new run from a spec.json; options given override them."),
  ]

  /// Where and how this process runs it: the daemon keeps its runs in its state directory,
  /// its workers have their own threads and `--max-memory`.
  static let localOptions: [OptionSpec] = [
    .value("out", valueName: "dir", help: "Run directory for a new run."),
    .value("resume", valueName: "dir", help: "Continue the run in this directory (its settings are read from it)."),
    .value("threads", valueName: "n", help: "Worker threads (default: all cores)."),
    .value(
      "max-memory", valueName: "size",
      help: "Refuse a student whose estimated memory for a batch is larger: 8G, 512M, … (default: half of this machine's)."),
    .json,
  ]

  /// What may accompany --resume: --epochs to set a new length, and settings that change
  /// how the run is computed here but not its result.
  static let resumeOptions: Set<String> = ["resume", "epochs", "threads", "max-memory", "json"]

  static func run(_ args: ParsedArguments) throws {
    try ScoringOptions.configureThreads(args)
    let memoryLimit = try ScoringOptions.memoryLimit(args)
    // Before the trainer is built, so a Ctrl-C while the data loads stops at the first step.
    Interrupt.install()
    let trainer: Trainer
    if let directory = args.string("resume") {
      let changing = spec.options.map(\.long).filter { !resumeOptions.contains($0) && args.isSet($0) }
      if !changing.isEmpty {
        throw args.usageError(
          "--resume continues the run exactly as \(directory)/spec.json describes it; \(changing.map { "--" + $0 }.joined(separator: ", ")) would change it "
            + "(with --resume give only --epochs N to train longer, --threads, --max-memory, --json; "
            + "for a changed copy: --config \(directory)/spec.json --out NEW-DIR with the changes)")
      }
      let length = args.isSet("epochs") ? try args.int("epochs", range: TrainingSpec.Limits.epochs) : nil
      if let length { try checkLength(length, directory: directory, args: args) }
      trainer = try Trainer(spec: nil, directory: directory, resume: true, epochs: length, memoryLimit: memoryLimit)
      if let at = trainer.lastCheckpoint, !trainer.isFinished {
        Log.info("resuming \(directory) \(describe(at)), \(trainer.spec.epochs) epochs in all")
      }
    } else {
      guard let directory = args.string("out") else { throw args.usageError("give --out DIR for a new run, or --resume DIR") }
      trainer = try Trainer(spec: try trainingSpec(args), directory: directory, resume: false, memoryLimit: memoryLimit)
    }
    let spec = trainer.spec
    let provenance = try Provenance(
      trainingSpace: spec.student.space, studentName: spec.student.name, studentArch: spec.student.arch,
      teacherWeights: spec.teacher?.weights, moreTeacherWeights: (spec.moreTeachers ?? []).map(\.weights), data: spec.data,
      unlabelled: spec.unlabelled, seed: spec.seed, version: WireProtocol.softwareVersion)
    if trainer.isFinished {
      Log.info("\(trainer.directory) has trained all its \(trainer.spec.epochs) epochs; give --resume DIR --epochs N to train it longer")
    }
    let bar = trainer.isFinished ? nil : TrainingProgressBar(label: "train")
    trainer.onSkippedImage = { Log.warning("skipped \($0): not decodable") }
    let result: Trainer.Result
    do {
      result = try trainer.run(
        progress: { p in
          bar?.show(TrainingProgress(
            epoch: p.epoch + 1, epochs: p.epochs, step: p.step, steps: p.steps, loss: p.loss, accuracy: p.trainAccuracy,
            learningRate: p.learningRate, imagesPerSecond: p.imagesPerSecond))
        },
        isCancelled: { Interrupt.requested })
    } catch is CancellationError {
      bar?.finish()
      throw interrupted(trainer)
    }
    bar?.finish()
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
      if let p = result.pseudoLabels {
        var line = String(format: "pseudo-labels (filter %@): kept %d of %d images", p.filter, p.kept, p.images)
        if let all = p.accuracy, let kept = p.keptAccuracy {
          line += String(format: "; accuracy %.2f %% of all, %.2f %% of the kept", all * 100, kept * 100)
        }
        print(line + (p.unlabelled.map { " (unlabelled, \($0))" } ?? ""))
      }
      print(String(format: "test accuracy %.2f %% (%d/%d) after %d epochs, %.0f s; student: %@",
                   result.testAccuracy * 100, result.testCorrect, result.testSamples, result.epochs, result.seconds, result.studentPath)
            + (result.skippedImages == 0 ? "" : "; \(result.skippedImages) bad image\(result.skippedImages == 1 ? "" : "s") skipped"))
    }
  }

  /// A new length must cover the epochs the run has begun: a usage error (exit 2) here,
  /// before the trainer reads any data (the trainer refuses it too).
  private static func checkLength(_ length: Int, directory: String, args: ParsedArguments) throws {
    guard let state = try? TrainingState.read(from: directory + "/checkpoint.json") else { return }  // the trainer says why
    let begun = state.epoch + (state.stepInEpoch > 0 ? 1 : 0)
    if length < begun {
      throw args.usageError("--epochs \(length) is shorter than the \(begun) epochs the run in \(directory) has already begun")
    }
  }

  /// "at the start of epoch 3" or "in epoch 2 after step 7" (epochs from 1).
  static func describe(_ at: (epoch: Int, step: Int)) -> String {
    at.step == 0 ? "at the start of epoch \(at.epoch + 1)" : "in epoch \(at.epoch + 1) after step \(at.step)"
  }

  /// The error a Ctrl-C ends `diswot train` with (exit 130), naming the checkpoint and the
  /// exact command that continues the run from anywhere (the directory made absolute).
  static func interrupted(_ trainer: Trainer) -> CommandLineError {
    let directory = ClientPaths.absolute(trainer.directory)
    let at = trainer.lastCheckpoint.map(describe) ?? "before the first step"
    let command = [CommandLine.arguments[0], "train", "--resume", directory].map(shellQuoted).joined(separator: " ")
    return CommandLineError(.interrupted, "interrupted; checkpoint written \(at) in \(directory)", hint: "resume with: \(command)")
  }

  /// `text` as one shell word: unchanged when it holds only safe characters, else in
  /// single quotes.
  static func shellQuoted(_ text: String) -> String {
    let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+:=,@%")
    if !text.isEmpty && text.allSatisfy(safe.contains) { return text }
    return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }

  /// The spec of a new run: --config FILE's (a saved spec.json) with every option given on
  /// the command line overriding its field, or, without --config, the options and their
  /// defaults. Paths are made absolute (relative to the current directory), so the run
  /// directory's spec.json works from anywhere.
  /// The result is checked by `TrainingSpec.validate()` (the daemon's check too): a refused
  /// value is a usage error (exit 2) before any file is opened; `studentGiven` false for
  /// `train start --search`, whose student the daemon fills in.
  static func trainingSpec(_ args: ParsedArguments, studentGiven: Bool = true) throws -> TrainingSpec {
    let config = try args.string("config").map { path throws in
      do { return try TrainingSpec.read(path: path) } catch { throw CommandLineError.data("--config: \(error)") }
    }
    /// Whether an option decides its field: always without --config, else when given.
    func given(_ name: String) -> Bool { config == nil || args.isSet(name) }
    var spec = try config ?? TrainingSpec(student: .init(), data: args.require("data"))
    if let data = args.string("data") { spec.data = data }

    let arch = try args.string("arch").map { text throws in
      guard let json = JSONValue.parse(text) else { throw CommandLineError.usage("--arch is not valid JSON: \(text)") }
      return json
    }
    var student = TrainingSpec.Student(name: args.string("student"), shortcut: args.string("student-shortcut"), space: args.string("space"), arch: arch)
    if config == nil || student.name != nil || student.space != nil || student.arch != nil {
      // The command line names the student; a lone --arch keeps the config's space.
      if student.name == nil && student.space == nil { student.space = config?.student.space }
      spec.student = student
    } else if let shortcut = student.shortcut {
      spec.student.shortcut = shortcut
    }

    let teacherFiles = args.list("teacher-weights")
    if let weights = teacherFiles.first {
      guard Set(teacherFiles).count == teacherFiles.count else { throw args.usageError("--teacher-weights names a file twice") }
      spec.teacher = TrainingSpec.Teacher(name: args.string("teacher"), weights: weights)
      spec.moreTeachers = teacherFiles.count > 1 ? teacherFiles.dropFirst().map { TrainingSpec.Teacher(weights: $0) } : nil
      spec.teacherMix = nil
    } else if let name = args.string("teacher") {
      guard spec.teacher != nil else { throw args.usageError("--teacher names the teacher of --teacher-weights, and none is given") }
      spec.teacher?.name = name
    }
    guard let distill = FeatureDistillation(rawValue: args.string("distill", default: "kd")) else {
      throw args.usageError("--distill must be one of \(FeatureDistillation.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    if spec.teacher == nil && args.isSet("distill") && distill != .none {
      throw args.usageError("--distill \(distill.rawValue) needs --teacher-weights")
    }
    // A config's method stands unless --distill is given or the teacher came or went.
    let configMethod = config.flatMap { $0.teacher == nil ? nil : $0.distill }
    let method = spec.teacher == nil ? FeatureDistillation.none : args.isSet("distill") ? distill : configMethod ?? distill
    // A config's loss weights belong to its method; another method starts from its own.
    var weights = config.map { $0.distill == method ? $0.weights : .cifarDefault(for: method) } ?? .cifarDefault(for: method)
    if let g = try args.double("gamma", range: TrainingSpec.Limits.crossEntropyWeight) { weights.crossEntropy = g }
    if let a = try args.double("alpha", range: TrainingSpec.Limits.kdWeight) { weights.kd = a }
    if let b = try args.double("beta", range: TrainingSpec.Limits.featureWeight) { weights.feature = b }
    if let t = try args.double("T", range: TrainingSpec.Limits.temperature) { weights.temperature = t }
    (spec.distill, spec.weights) = (method, weights)

    if let n = try args.int("train-limit", range: TrainingSpec.Limits.imageLimit) { spec.trainLimit = n }
    if let n = try args.int("test-limit", range: TrainingSpec.Limits.imageLimit) { spec.testLimit = n }
    if given("epochs") { spec.epochs = try args.int("epochs", range: TrainingSpec.Limits.epochs)! }
    if given("batch") { spec.batch = try args.int("batch", range: TrainingSpec.Limits.batch)! }
    if given("lr") { spec.learningRate = try args.double("lr", range: TrainingSpec.Limits.learningRate)! }
    if given("schedule") { spec.schedule = args.string("schedule", default: "multistep:150,180,210") }
    if given("momentum") { spec.momentum = try args.double("momentum", range: TrainingSpec.Limits.momentum)! }
    if given("weight-decay") { spec.weightDecay = try args.double("weight-decay", range: TrainingSpec.Limits.weightDecay)! }
    if given("nesterov") { spec.nesterov = args.flag("nesterov") }
    if given("label-smoothing") { spec.labelSmoothing = try args.double("label-smoothing", range: TrainingSpec.Limits.labelSmoothing)! }
    if given("no-augment") { spec.augment = !args.flag("no-augment") }
    if given("seed") { spec.seed = UInt64(try args.int("seed", range: 0...Int.max)!) }
    if let n = try args.int("image-size", range: TrainingSpec.Limits.imageSize) { spec.imageSize = n }
    if let n = try args.int("resize", range: TrainingSpec.Limits.resize) { spec.resize = n }
    if args.flag("skip-bad-images") { spec.skipBadImages = true }
    if given("checkpoint-every") {
      spec.checkpointEverySteps = try args.int("checkpoint-every", range: TrainingSpec.Limits.checkpointEverySteps)!
    }
    if let directory = args.string("unlabelled") { spec.unlabelled = directory }
    if args.flag("ignore-labels") || args.isSet("unlabelled") {
      spec.pseudoLabels = .init(filter: args.string("filter") ?? "none")
    } else if args.isSet("filter") {
      throw args.usageError("--filter chooses pseudo-labels: give --ignore-labels or --unlabelled DIR with it")
    }
    if spec.unlabelled != nil && spec.teacher == nil {
      throw args.usageError("--unlabelled images are labelled by the teachers: give --teacher-weights")
    }
    if let more = spec.moreTeachers, args.isSet("teacher-mix") || spec.teacherMix == nil {
      let files = [spec.teacher!.weights] + more.map(\.weights)
      for file in files where !FileManager.default.fileExists(atPath: file) {
        throw CommandLineError.data("teacher weights \(file) do not exist")
      }
      spec.teacherMix = try TeacherMix.resolve(args.string("teacher-mix"), teachers: files, data: spec.data, args: args)
    } else if args.isSet("teacher-mix") {
      throw args.usageError("--teacher-mix is for several teachers (--teacher-weights a,b,…)")
    }
    do { try spec.validate(studentGiven: studentGiven) } catch {
      guard case .invalidSpec(let message) = error else { throw error }
      throw args.usageError(message)
    }
    spec.data = ClientPaths.absoluteData(spec.data)
    spec.unlabelled = spec.unlabelled.map(ClientPaths.absolute)
    if let weights = spec.teacher?.weights { spec.teacher?.weights = ClientPaths.absolute(weights) }
    spec.moreTeachers = spec.moreTeachers?.map { TrainingSpec.Teacher(name: $0.name, weights: ClientPaths.absolute($0.weights)) }
    spec.student.space = spec.student.space.map(ClientPaths.absoluteSpace)
    return spec
  }
}
