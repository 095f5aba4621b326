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
      reason (with --jsonl, its line carries "unscorable"), never ranked; when no candidate \
      could be scored the exit status is 1. A single --arch over --max-memory is a data \
      error (exit 3).
      """,
    options: [
      .flag("all", help: "Score every architecture of the space."),
      .value("sample", valueName: "n", help: "Score n architectures sampled uniformly (seeded)."),
      .value("arch", valueName: "json", help: "Score one architecture, e.g. '{\"depths\":[3,3,3],\"widths\":[16,32,64]}'."),
      .value("student-weights", valueName: "file", help: "Score these weights for --arch instead of a fresh initialisation."),
      .value("proxies", valueName: "list", default: "ensemble", help: "Comma-separated: \(Proxy.allCases.map(\.rawValue).joined(separator: ","))."),
      .flag("jsonl", help: "Print one JSON object per candidate instead of a table."),
    ] + ScoringOptions.options)

  static func run(_ args: ParsedArguments) throws {
    let spec = try ScoringOptions.spec(args, proxies: try Proxy.parseList(args.list("proxies")))
    let seed = spec.seed
    let session = try ScoringOptions.session(spec, memoryLimit: try ScoringOptions.memoryLimit(args))
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
    if jsonl == nil { printTable(evaluations, proxies: spec.proxies) }
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

  /// The candidates ranked by the first proxy, best first, then the unscorable ones with
  /// their reasons.
  static func printTable(_ evaluations: [ScoringSession.Evaluation], proxies: [Proxy]) {
    let first = proxies[0]
    let sorted = evaluations.filter { $0.unscorable == nil }.sorted {
      let (a, b) = ($0.scores[first.rawValue] ?? -.infinity, $1.scores[first.rawValue] ?? -.infinity)
      return first.higherIsBetter ? a > b : a < b
    }
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
}
