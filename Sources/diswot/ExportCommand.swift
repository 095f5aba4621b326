import DiswotCommandLine
import DiswotData
import DiswotFiles
import DiswotJSON
import DiswotModels
import DiswotTensor

/// `diswot export`: a student as a self-contained PyTorch module, and optionally its weights.
enum ExportCommand {
  static let spec = CommandSpec(
    "export", abstract: "Write a student as a self-contained PyTorch module (student.py), and its weights.",
    discussion: """
      The student is a weights file (--weights: a student diswot trained, a PyTorch state \
      dict; the architecture is read off it as 'diswot eval' does, or given with \
      --space/--arch or --model), an architecture of a search space (--space with --arch, \
      as JSON or as the key 'diswot score' and 'diswot search' print), or a model name \
      (--model). --out receives Python source with a 'Student' class (PyTorch only, \
      nothing of diswot) whose state_dict names are those of diswot's weights files, so \
      Student().load_state_dict(load_file(W), strict=True) takes them and computes \
      diswot's logits; MEAN and STD in it are the input normalisation the weights file \
      records. --weights-out writes the weights as diswot writes them (with every batch \
      norm's num_batches_tracked, which a file converted without them lacks): the given \
      weights, or without --weights the freshly initialised student 'diswot train --seed' \
      starts from.
      """,
    options: [
      .value("out", valueName: "file", help: "The Python module to write ('-': standard output)."),
      .value("weights", valueName: "file", help: "The student's weights (safetensors, PyTorch state_dict names)."),
      .value("space", valueName: "file|name", help: "Search space of the student, with --arch."),
      .value("arch", valueName: "json|key", help: "The student's architecture in --space."),
      .value("model", valueName: "model", help: "A model name (resnet20, resnet-d1_1_1-w32_64_128, SPACE:KEY); with --weights, the architecture they must have."),
      .value("shortcut", valueName: "A|B", help: "Shortcut of a --model without --weights (default A)."),
      .value("classes", valueName: "n", help: "Classes of a student without --weights (default: the space's; 10 for a ResNet --model)."),
      .value("weights-out", valueName: "file", help: "Also write the student's weights (safetensors, num_batches_tracked included)."),
      .value("seed", valueName: "n", help: "Initialisation seed of a student without --weights, for --weights-out (default 0)."),
      .json,
    ])

  /// What `--json` prints.
  struct Report: Encodable {
    var architecture: String
    var family: String
    var out: String
    var weightsOut: String?
    var stateEntries: Int
    var parameters: Int
    var normalization: String?

    enum CodingKeys: String, CodingKey {
      case architecture, family, out, parameters, normalization
      case weightsOut = "weights_out", stateEntries = "state_entries"
    }
  }

  /// The student to export and the metadata its weights carry.
  struct Student {
    var model: any Classifier
    var metadata: [String: String]
  }

  static func run(_ args: ParsedArguments) throws {
    let out = try args.require("out")
    if out == "-" && args.flag("json") { throw args.usageError("--json and --out - would both write to standard output") }
    let student = try resolveStudent(args)
    let normalization = try recordedNormalization(student)
    let source = try PyTorchModule.source(
      for: student.model, normalization: normalization.map { .init(mean: $0.mean, std: $0.std) })
    if out == "-" {
      Terminal.writeStandardOutput(source)
    } else {
      try write(Array(source.utf8), to: out)
    }
    let weightsOut = args.string("weights-out")
    if let weightsOut {
      do {
        try SafetensorsFile.write(
          path: weightsOut, tensors: student.model.stateDict(), metadata: student.metadata, dtypes: student.model.stateDtypes)
      } catch {
        guard case .unwritable(_, let reason) = error else { throw error }
        throw CommandLineError.failure("cannot write \(weightsOut): \(reason)")
      }
    }
    let report = Report(
      architecture: student.model.metadata["arch"] ?? "model", family: student.model.metadata["family"] ?? "",
      out: out, weightsOut: weightsOut, stateEntries: student.model.stateDict().count,
      parameters: student.model.parameterCount, normalization: normalization?.description)
    if args.flag("json") {
      try JSONOutput.print(report)
    } else {
      let summary = "\(out == "-" ? "wrote" : "wrote \(out):") class Student, \(report.architecture) (\(report.family), "
        + "\(report.parameters) parameters, \(report.stateEntries) state_dict entries)"
      let lines = [summary] + (weightsOut.map { ["wrote \($0): its weights, num_batches_tracked included"] } ?? [])
      // With the module on standard output the summary goes to standard error.
      for line in lines { if out == "-" { Log.info(line) } else { print(line) } }
    }
  }

  /// --weights, --space/--arch or --model, as the help describes.
  static func resolveStudent(_ args: ParsedArguments) throws -> Student {
    let file = try args.string("weights").map { try SafetensorsFile.read(path: $0) }
    if file != nil {
      for option in ["shortcut", "classes", "seed"] where args.isSet(option) {
        throw args.usageError("--\(option) is for a student without --weights (the weights decide it)")
      }
    }
    if args.isSet("arch") != args.isSet("space") { throw args.usageError("--space and --arch go together") }
    if args.isSet("space") && args.isSet("model") { throw args.usageError("give --space/--arch or --model, not both") }
    if args.isSet("shortcut") && !args.isSet("model") { throw args.usageError("--shortcut is for --model") }

    let student: Student
    if let spaceName = args.string("space"), let archText = args.string("arch") {
      let space = try SearchSpace.load(path: SearchSpaceLocator.resolve(spaceName))
      let g = try JSONValue.parse(archText).map { try space.genotype(fromJSON: $0) } ?? space.genotype(fromKey: archText)
      let classes = try file.map { try ModelZoo.classCount(in: $0) } ?? args.int("classes", default: space.classCount, range: 1...100_000)
      let model = try space.build(g, classCount: classes)
      if let file { try model.loadState(file.tensors) }
      student = Student(model: model, metadata: space.metadata(of: g, model: model))
    } else if let file {
      student = Student(model: try ModelZoo.loadAny(file, name: args.string("model")), metadata: [:])
    } else if let name = args.string("model") {
      guard let shortcut = ShortcutType(rawValue: args.string("shortcut", default: "A").uppercased()) else {
        throw args.usageError("--shortcut must be A or B")
      }
      let (model, metadata) = try ModelName(parsing: name).resolve(
        classCount: try args.int("classes", range: 1...100_000), shortcut: shortcut).build()
      student = Student(model: model, metadata: metadata)
    } else {
      throw args.usageError("give the student: --weights FILE, --space S --arch A, or --model NAME")
    }
    guard let file else {
      var rng = SeededGenerator(seed: UInt64(try args.int("seed", default: 0, range: 0...Int.max)))
      student.model.initialize(.kaimingNormalFanOut, using: &rng)
      return student
    }
    // The file's own metadata (normalisation, dataset, how it was trained) stays; the
    // architecture is described as built.
    let architecture = student.metadata.merging(student.model.metadata) { a, _ in a }
    return Student(model: student.model, metadata: file.metadata.merging(architecture) { _, built in built })
  }

  /// The weights' `mean`/`std` metadata, if they record it.
  static func recordedNormalization(_ student: Student) throws -> Normalization? {
    guard let mean = student.metadata["mean"], let std = student.metadata["std"] else { return nil }
    return try Normalization(mean: mean, std: std, channels: student.model.inputChannels)
  }

  /// Writes atomically; a failure is a plain sentence naming the file.
  static func write(_ bytes: [UInt8], to path: String) throws {
    do {
      try DurableFile.writeAtomically(path: path, bytes: bytes)
    } catch {
      throw CommandLineError.failure("cannot write \(path): \(error.reason)")
    }
  }
}
