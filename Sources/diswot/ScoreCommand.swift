import DiswotCommandLine
import DiswotJSON
import DiswotModels
import DiswotScoring
import DiswotTensor
import Foundation

/// `diswot score`: training-free scores of students from a search space against a teacher.
enum ScoreCommand {
  static let spec = CommandSpec(
    "score", abstract: "Score students of a search space against a teacher without training.",
    discussion: """
      Each candidate is built from the space, initialised (seeded by --seed and its key, so \
      the same candidate always gets the same weights) and scored on one probe batch against \
      the teacher, whose features are computed once. Both run with training-mode batch norm. \
      Without --teacher-weights the teacher is randomly initialised, as in the published \
      DisWOT search code.
      """,
    options: [
      .value("space", valueName: "file|name", help: "Search space: a JSON file or a name in SearchSpaces/."),
      .flag("all", help: "Score every architecture of the space."),
      .value("sample", valueName: "n", help: "Score n architectures sampled uniformly (seeded)."),
      .value("arch", valueName: "json", help: "Score one architecture, e.g. '{\"depths\":[3,3,3],\"widths\":[16,32,64]}'."),
      .value("teacher", valueName: "name", default: "resnet56", help: "Teacher: a named ResNet (resnet20…resnet110)."),
      .value("teacher-arch", valueName: "json", help: "Teacher: an architecture of the space instead of a name."),
      .value("teacher-weights", valueName: "file", help: "Pretrained teacher weights (safetensors)."),
      .value("teacher-shortcut", valueName: "A|B", help: "Shortcut of a randomly initialised named teacher (default A)."),
      .value("student-weights", valueName: "file", help: "Score these weights for --arch instead of a fresh initialisation."),
      .value("data", valueName: "spec", default: "gaussian", help: "Probe data: gaussian, or cifar10:DIR / cifar100:DIR (train split)."),
      .value("batch", valueName: "n", default: "64", help: "Probe batch size."),
      .value("classes", valueName: "k", help: "Number of classes (default: the teacher weights' or the space's)."),
      .value("proxies", valueName: "list", default: "diswot", help: "Comma-separated: \(Proxy.allCases.map(\.rawValue).joined(separator: ","))."),
      .value("seed", valueName: "n", default: "0", help: "Seed for the probe batch, initialisations and sampling."),
      .value("repeats", valueName: "r", default: "1", help: "Average over r student initialisations."),
      .value("init", valueName: "scheme", default: "kaiming-fan-out", help: "Initialisation: kaiming-fan-out or pytorch-default."),
      .flag("class-gram", help: "Use the class-Gram semantic form even when channel counts agree."),
      .value("threads", valueName: "n", help: "Worker threads (default: all cores)."),
      .flag("jsonl", help: "Print one JSON object per candidate instead of a table."),
    ])

  static func run(_ args: ParsedArguments) throws {
    Parallel.configure(threads: try args.int("threads", default: Parallel.defaultThreads, range: 1...256))
    let seed = UInt64(try args.int("seed", range: 0...Int.max)!)
    let teacherArch = try args.string("teacher-arch").map { try parseJSON($0, option: "--teacher-arch") }
    let spec = ScoringSpec(
      space: try args.require("space"),
      teacher: .init(
        name: teacherArch == nil ? args.string("teacher") : nil, arch: teacherArch,
        weights: args.string("teacher-weights"), shortcut: args.string("teacher-shortcut")),
      data: args.string("data", default: "gaussian"), batch: try args.int("batch", range: 2...ProbeBatch.maxBatch)!,
      classes: try args.int("classes", range: 2...100_000), proxies: try Proxy.parseList(args.list("proxies")),
      seed: seed, repeats: try args.int("repeats", range: 1...100)!, initialization: args.string("init", default: "kaiming-fan-out"),
      forceClassGram: args.flag("class-gram"))
    let session = try ScoringSession(spec: spec)
    let candidates = try chooseCandidates(args, space: session.space, seed: seed)
    let studentWeights = try args.string("student-weights").map { path throws in
      guard candidates.count == 1, args.isSet("arch") else { throw args.usageError("--student-weights needs --arch") }
      return try SafetensorsFile.read(path: path)
    }
    Log.info("scoring \(candidates.count) candidate(s) of \(session.space.name) against \(session.teacherDescription) on \(session.scorer.probe.source)")

    let jsonl = args.flag("jsonl") ? try JSONLinesWriter(path: nil) : nil
    let bar = ProgressBar(total: candidates.count, label: "score")
    var evaluations: [ScoringSession.Evaluation] = []
    for g in candidates {
      let evaluation = try session.evaluate(g, studentWeights: studentWeights)
      try jsonl?.write(evaluation)
      evaluations.append(evaluation)
      bar.advance(detail: evaluation.key)
    }
    bar.finish()
    if jsonl == nil { printTable(evaluations, proxies: spec.proxies) }
  }

  static func parseJSON(_ text: String, option: String) throws -> JSONValue {
    guard let json = JSONValue.parse(text) else { throw CommandLineError.usage("\(option) is not valid JSON: \(text)") }
    return json
  }

  static func chooseCandidates(_ args: ParsedArguments, space: SearchSpace, seed: UInt64) throws -> [Genotype] {
    let chosen = [args.flag("all"), args.isSet("sample"), args.isSet("arch")].filter { $0 }.count
    guard chosen == 1 else { throw args.usageError("choose exactly one of --all, --sample N, --arch JSON") }
    if args.flag("all") { return try space.enumerate() }
    if let arch = args.string("arch") { return [try space.genotype(fromJSON: parseJSON(arch, option: "--arch"))] }
    let n = try args.int("sample", range: 1...1_000_000)!
    var rng = SeededGenerator(seed: seed ^ 0x53_414D_504C_45)  // "SAMPLE"
    return (0..<n).map { _ in space.sample(using: &rng) }
  }

  /// The candidates ranked by the first proxy, best first.
  static func printTable(_ evaluations: [ScoringSession.Evaluation], proxies: [Proxy]) {
    let first = proxies[0]
    let sorted = evaluations.sorted {
      let (a, b) = ($0.scores[first.rawValue] ?? -.infinity, $1.scores[first.rawValue] ?? -.infinity)
      return first.higherIsBetter ? a > b : a < b
    }
    var table = Table(headers: ["rank", "key"] + proxies.map(\.rawValue) + ["params", "MMACs", "ms"])
    for (i, e) in sorted.enumerated() {
      table.append(["\(i + 1)", e.key] + proxies.map { String(format: "%.6g", e.scores[$0.rawValue] ?? .nan) }
                   + ["\(e.params)", String(format: "%.2f", Double(e.macs) / 1e6), String(format: "%.0f", e.seconds * 1e3)])
    }
    print(table.render(), terminator: "")
  }
}
