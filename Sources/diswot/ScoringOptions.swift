import DiswotCommandLine
import DiswotData
import DiswotJSON
import DiswotModels
import DiswotScoring
import DiswotTensor

/// The options that describe a scoring set-up, shared by `score`, `quality` and `search`
/// (and, with the daemon, `search start`) so every command reads them the same way.
enum ScoringOptions {
  static let options: [OptionSpec] = [
    .value("space", valueName: "file|name", help: "Search space: a JSON file or a name in SearchSpaces/."),
    .value(
      "teacher", valueName: "model",
      help: "Teacher: a model name (resnet56, resnet-d1_1_1-w32_64_128, SPACE:KEY); with --teacher-weights it must match them, which otherwise name it (default: resnet56)."),
    .value("teacher-arch", valueName: "json", help: "Teacher: an architecture of the space instead of a name."),
    .value("teacher-weights", valueName: "file", help: "Pretrained teacher weights (safetensors); default: random init."),
    .value("teacher-shortcut", valueName: "A|B", help: "Shortcut of a randomly initialised named teacher (default A)."),
    .value("data", valueName: "spec", default: "gaussian", help: "Probe data: gaussian, or cifar10:DIR / cifar100:DIR / folder:DIR (train split)."),
    .value("resize", valueName: "n", help: "Image folders: shorter side before the centre crop (default round(size·8/7))."),
    .flag("skip-bad-images", help: "Image folders: leave out images that cannot be decoded (drawing others), counted."),
    .value("batch", valueName: "n", default: "64", help: "Probe batch size."),
    .value("classes", valueName: "k", help: "Number of classes (default: the teacher weights' or the space's)."),
    .value("seed", valueName: "n", default: "0", help: "Seed for the probe batch, initialisations and sampling."),
    .value("repeats", valueName: "r", help: "Average each score over r student initialisations (default 2 when the ensemble is measured, 1 otherwise)."),
    .value("probes", valueName: "k", default: "1", help: "Average each score over k probe batches (seeds derived from --seed)."),
    .value("reference-size", valueName: "n", default: "64", help: "Architectures in the ensemble's calibration sample."),
    .value("reference-seed", valueName: "n", default: "0", help: "Seed of the ensemble's calibration sample."),
    .value("init", valueName: "scheme", default: "kaiming-fan-out", help: "Initialisation: kaiming-fan-out or pytorch-default."),
    .flag("class-gram", help: "Use the class-Gram semantic form even when channel counts agree."),
  ]

  /// How this process scores: meaningless for a daemon search, whose workers have their
  /// own threads and `--max-memory`.
  static let localOptions: [OptionSpec] = [
    .value("threads", valueName: "n", help: "Worker threads (default: all cores)."),
    .value(
      "max-memory", valueName: "size",
      help: "Refuse networks whose estimated memory to score is larger: 8G, 512M, … (default: half of this machine's, \(MemoryLimit.machineDefault))."),
  ]

  /// `--max-memory`, or the machine's default.
  static func memoryLimit(_ args: ParsedArguments) throws -> MemoryLimit {
    guard let text = args.string("max-memory") else { return .machineDefault }
    guard let limit = MemoryLimit(parsing: text) else {
      throw args.usageError("--max-memory must be a size such as 8G, 512M or 1048576 (bytes), got '\(text)'")
    }
    return limit
  }

  /// `--threads`, for commands that score in this process.
  static func configureThreads(_ args: ParsedArguments) throws {
    Parallel.configure(threads: try args.int("threads", default: Parallel.defaultThreads, range: 1...256))
  }

  /// The spec the options describe, checked by `ScoringSpec.validate()` (the check the
  /// daemon runs too): a value out of range is a usage error, like a malformed one.
  static func spec(_ args: ParsedArguments, proxies: [Proxy], seed: UInt64? = nil) throws -> ScoringSpec {
    let teacherArch = try args.string("teacher-arch").map { try parseJSON($0, option: "--teacher-arch") }
    let spec = ScoringSpec(
      space: try args.require("space"),
      teacher: .init(
        name: teacherArch == nil ? args.string("teacher") : nil, arch: teacherArch,
        weights: args.string("teacher-weights"), shortcut: args.string("teacher-shortcut")),
      data: args.string("data", default: "gaussian"), batch: try args.int("batch", range: 2...ProbeBatch.maxBatch)!,
      classes: try args.int("classes", range: 2...100_000), proxies: proxies, seed: try seed ?? Self.seed(args),
      repeats: try args.int("repeats", range: ScoringSpec.repeatsRange), probes: try args.int("probes", range: ScoringSpec.probesRange)!,
      initialization: args.string("init", default: "kaiming-fan-out"), forceClassGram: args.flag("class-gram"),
      reference: ScoringSpec.Reference(
        size: try args.int("reference-size", range: ScoringSpec.Reference.sizes)!,
        seed: UInt64(try args.int("reference-seed", range: 0...Int.max)!)),
      resize: try args.int("resize", range: ScoringSpec.resizeRange), skipBadImages: args.flag("skip-bad-images"))
    do { _ = try DataSpec(parsing: spec.data) } catch { throw args.usageError("--data: \(error)") }
    if let shortcut = spec.teacher.shortcut, ShortcutType(rawValue: shortcut.uppercased()) == nil {
      throw args.usageError("--teacher-shortcut must be A or B, got \(shortcut)")
    }
    do { try spec.validate() } catch { throw usageError(args, error) }
    return spec
  }

  /// `--proxies`: comma-separated names, each known.
  static func proxies(_ args: ParsedArguments) throws -> [Proxy] {
    do { return try Proxy.parseList(args.list("proxies")) } catch { throw usageError(args, error) }
  }

  /// A spec check's refusal of a command-line value, as the usage error it is (exit 2).
  private static func usageError(_ args: ParsedArguments, _ error: ScoringError) -> CommandLineError {
    if case .invalidArgument(let message) = error { return args.usageError(message) }
    return args.usageError(error.description)
  }

  /// The session for a spec, with a progress bar while the ensemble calibrates and its
  /// component weights logged (they say which signals this space and teacher trust).
  static func session(_ spec: ScoringSpec, memoryLimit: MemoryLimit, label: String = "calibrate") throws -> ScoringSession {
    // Calibration runs inside the first evaluation (so failed checks cost nothing): the
    // bar appears with it, and the weights are logged once it is done.
    nonisolated(unsafe) var bar: ProgressBar?
    nonisolated(unsafe) var session: ScoringSession?
    session = try ScoringSession(spec: spec, memoryLimit: memoryLimit) { done, total in
      if bar == nil { bar = ProgressBar(total: total, label: label) }
      bar?.update(completed: done)
      if done == total {
        bar?.finish()
        if let c = session?.calibration { Log.info("ensemble calibrated on \(total) reference architectures: \(c.summary)") }
      }
    }
    return session!
  }

  static func seed(_ args: ParsedArguments) throws -> UInt64 { UInt64(try args.int("seed", range: 0...Int.max)!) }

  static func parseJSON(_ text: String, option: String) throws -> JSONValue {
    guard let json = JSONValue.parse(text) else { throw CommandLineError.usage("\(option) is not valid JSON: \(text)") }
    return json
  }
}
