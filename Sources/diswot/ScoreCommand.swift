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
      the teacher, whose features are computed once. Both run with training-mode batch norm \
      (synflow bypasses it, as its reference does). \
      Without --teacher-weights the teacher is randomly initialised, as in the published \
      DisWOT search code. A candidate whose first proxy is not finite, or whose estimated \
      memory is over --max-memory (it is then never built), is unscorable: listed with the \
      reason (with --jsonl or --json, it carries "unscorable"), never ranked; when no \
      candidate could be scored the exit status is 1. A single --arch over --max-memory is \
      a data error (exit 3). The table ranks by the first proxy, best first (for most \
      proxies higher is better; for the distances semantic and relation lower is); ms is \
      the wall-clock milliseconds it took to score that candidate.
      """,
    options: [
      .flag("all", help: "Score every architecture of the space."),
      .value("sample", valueName: "n", help: "Score n architectures sampled uniformly (seeded)."),
      .value("arch", valueName: "json", help: "Score one architecture, e.g. '{\"depths\":[3,3,3],\"widths\":[16,32,64]}'."),
      .value("student-weights", valueName: "file", help: "Score these weights for --arch instead of a fresh initialisation."),
      .value("proxies", valueName: "list", default: "ensemble", help: "Comma-separated: \(Proxy.allCases.map(\.rawValue).joined(separator: ","))."),
      .json,
      .value("jsonl", valueName: "file", help: "Also write one JSON object per candidate to this file ('-': standard output, instead of the table)."),
    ] + ScoringOptions.options + ScoringOptions.localOptions)

  /// What `--json` prints: the candidates ranked by the first proxy, best first, then the
  /// unscorable ones.
  struct Report: Encodable {
    var space: String
    var teacher: String
    var probe: String
    var rankedBy: String
    var higherIsBetter: Bool
    var ranked: [ScoringSession.Evaluation]
    var unscorable: [ScoringSession.Evaluation]
    var spec: ScoringSpec

    enum CodingKeys: String, CodingKey {
      case space, teacher, probe, ranked, unscorable, spec
      case rankedBy = "ranked_by", higherIsBetter = "higher_is_better"
    }
  }

  static func run(_ args: ParsedArguments) throws {
    if args.flag("json") && args.string("jsonl") == "-" { throw args.usageError("--json and --jsonl - would both write to standard output") }
    try ScoringOptions.configureThreads(args)
    let spec = try ScoringOptions.spec(args, proxies: try ScoringOptions.proxies(args))
    let seed = spec.seed
    let session = try ScoringOptions.session(spec, memoryLimit: try ScoringOptions.memoryLimit(args))
    let candidates = try chooseCandidates(args, space: session.space, seed: seed)
    let studentWeights = try args.string("student-weights").map { path throws in
      guard candidates.count == 1, args.isSet("arch") else { throw args.usageError("--student-weights needs --arch") }
      return try SafetensorsFile.read(path: path)
    }
    Log.info("scoring \(candidates.count) candidate(s) of \(session.space.name) against \(session.teacherDescription) on \(session.scorer.probe.source)")

    let jsonl = try args.string("jsonl").map { try JSONLinesWriter(path: $0) }
    defer { jsonl?.close() }
    let bar = ProgressBar(total: candidates.count, label: "score")
    var evaluations: [ScoringSession.Evaluation] = []
    for g in candidates {
      var evaluation: ScoringSession.Evaluation
      do {
        evaluation = try session.evaluate(g, studentWeights: studentWeights)
      } catch ScoringError.tooLarge(let why) where !args.isSet("arch") {
        // One of many candidates over --max-memory: listed as unscorable, never built.
        let footprint = try session.space.footprint(of: g, classCount: session.classCount)
        evaluation = ScoringSession.Evaluation(
          arch: session.space.json(of: g), key: session.space.key(of: g), scores: [:], params: footprint.parameters,
          macs: footprint.macs, seconds: 0, unscorable: why)
      }
      try jsonl?.write(evaluation)
      evaluations.append(evaluation)
      bar.advance(detail: evaluation.key)
    }
    bar.finish()
    if args.flag("json") {
      try JSONOutput.print(Report(
        space: session.space.name, teacher: session.teacherDescription, probe: session.scorer.probe.source,
        rankedBy: spec.proxies[0].rawValue, higherIsBetter: spec.proxies[0].higherIsBetter,
        ranked: ranked(evaluations, by: spec.proxies[0]), unscorable: evaluations.filter { $0.unscorable != nil }, spec: spec))
    } else if args.string("jsonl") != "-" {
      printTable(evaluations, proxies: spec.proxies)
    }
    let unscorable = evaluations.filter { $0.unscorable != nil }
    if unscorable.count == evaluations.count, let last = unscorable.last {
      throw CommandLineError.failure(
        "no candidate could be scored: \(unscorable.count == 1 ? "the only one is" : "all \(unscorable.count) are") unscorable (\(last.key): \(last.unscorable!))")
    }
    if !unscorable.isEmpty { Log.warning("\(unscorable.count) of \(evaluations.count) candidates are unscorable") }
  }

  static func chooseCandidates(_ args: ParsedArguments, space: SearchSpace, seed: UInt64) throws -> [Genotype] {
    let chosen = [args.flag("all"), args.isSet("sample"), args.isSet("arch")].filter { $0 }.count
    guard chosen == 1 else { throw args.usageError("choose exactly one of --all, --sample N, --arch JSON") }
    if args.flag("all") { return try space.enumerate() }
    if let arch = args.string("arch") { return [try space.genotype(fromJSON: ScoringOptions.parseJSON(arch, option: "--arch"))] }
    let n = try args.int("sample", range: 1...1_000_000)!
    var rng = SeededGenerator(seed: seed ^ 0x53_414D_504C_45)  // "SAMPLE"
    return (0..<n).map { _ in space.sample(using: &rng) }
  }

  /// The scored candidates, best first by `proxy`.
  static func ranked(_ evaluations: [ScoringSession.Evaluation], by proxy: Proxy) -> [ScoringSession.Evaluation] {
    evaluations.filter { $0.unscorable == nil }.sorted {
      let (a, b) = ($0.scores[proxy.rawValue] ?? -.infinity, $1.scores[proxy.rawValue] ?? -.infinity)
      return proxy.higherIsBetter ? a > b : a < b
    }
  }

  /// The candidates ranked by the first proxy, best first, then the unscorable ones with
  /// their reasons; a legend line says which way each proxy is better and what the
  /// columns measure, so the table reads without the help.
  static func printTable(_ evaluations: [ScoringSession.Evaluation], proxies: [Proxy]) {
    let first = proxies[0]
    let sorted = ranked(evaluations, by: first)
    if !sorted.isEmpty { print(legend(proxies)) }
    var table = Table(headers: ["rank", "key"] + proxies.map(\.rawValue) + ["params", "MMACs", "ms"])
    for (i, e) in sorted.enumerated() {
      table.append(["\(i + 1)", e.key] + proxies.map { String(format: "%.6g", e.scores[$0.rawValue] ?? .nan) }
                   + ["\(e.params)", String(format: "%.2f", Double(e.macs) / 1e6), String(format: "%.0f", e.seconds * 1e3)])
    }
    if !sorted.isEmpty { print(table.render(), terminator: "") }
    let unscorable = evaluations.filter { $0.unscorable != nil }
    guard !unscorable.isEmpty else { return }
    print("\(sorted.isEmpty ? "" : "\n")Unscorable (\(unscorable.count)):")
    for e in unscorable { print("  \(e.key): \(e.unscorable!)") }
  }

  /// "Ranked by ensemble (higher is better; semantic: lower is better). params: …".
  static func legend(_ proxies: [Proxy]) -> String {
    let first = proxies[0]
    let others = proxies.dropFirst().filter { $0.higherIsBetter != first.higherIsBetter }
      .map { "\($0.rawValue): \($0.higherIsBetter ? "higher" : "lower") is better" }
    let direction = ([first.higherIsBetter ? "higher is better" : "lower is better"] + others).joined(separator: "; ")
    return "Ranked by \(first.rawValue), best first (\(direction)). params: parameters; MMACs: millions of "
      + "multiply-accumulates per image; ms: milliseconds this candidate took to score."
  }
}
