import DiswotCommandLine
import DiswotJSON
import DiswotModels
import DiswotScoring
import DiswotTensor
import Foundation

/// `diswot quality`: how well each proxy ranks a seeded sample of a space against ground
/// truth, how much that ranking depends on the probe seed, and what each proxy costs.
enum QualityCommand {
  static let spec = CommandSpec(
    "quality", abstract: "Measure proxies: Kendall τ, Spearman ρ, top-10 % precision against ground truth, stability, cost.",
    discussion: """
      Samples --sample distinct architectures of the space (seeded by --sample-seed, the same \
      for every probe seed) and scores them once per probe seed with every proxy in --proxies, \
      through the same scoring session the workers use (--repeats initialisations and --probes \
      batches averaged per candidate). For each proxy it reports Kendall τ, Spearman ρ and \
      Pearson r against --truth and the share of its top 10 % that is in the truth's top 10 % \
      (each the mean over probe seeds), the stability (mean Spearman ρ between the rankings of \
      different probe seeds), and the cost: milliseconds per candidate on one thread, timed on \
      the first --cost-sample candidates with that proxy alone (the ensemble's one-off \
      calibration on its reference sample is reported apart). Higher is better for every \
      measure; distances are negated before correlating, and a non-finite score ranks last. \
      Without --truth only the stability and the cost are reported (for spaces that have no \
      ground truth).
      """,
    options: [
      .value("truth", valueName: "file", help: "Ground truth: 'KEY VALUE' lines, JSONL, or CSV with a header (key first); optional."),
      .value("truth-field", valueName: "name", default: "accuracy", help: "Value field of JSONL truth or CSV column (default for CSV: the last)."),
      .value("sample", valueName: "n", default: "1000", help: "Distinct architectures to score (all of a smaller space)."),
      .value("sample-seed", valueName: "n", default: "0", help: "Seed of the architecture sample."),
      .value("probe-seeds", valueName: "list", default: "0,1,2", help: "Comma-separated seeds, one scoring run each (probe batch and initialisations)."),
      .value("proxies", valueName: "list", default: Proxy.allCases.map(\.rawValue).joined(separator: ","), help: "Comma-separated proxies to measure."),
      .value("cost-sample", valueName: "n", default: "10", help: "Candidates timed per proxy on one thread (0: skip timing)."),
      .value("jsonl", valueName: "file", help: "Also write every candidate's scores, one JSON line per candidate and probe seed."),
      .json,
    ] + OptionSpec.except(["seed"], from: ScoringOptions.options) + ScoringOptions.localOptions)

  struct Row: Encodable {
    var proxy: String
    var higherIsBetter: Bool
    /// Mean over probe seeds (absent without ground truth).
    var kendallTau: Double?
    var spearmanRho: Double?
    var pearsonR: Double?
    var topPrecision: Double?
    var stability: Double
    var msPerCandidate: Double?
    var perSeed: [RankingQuality]

    enum CodingKeys: String, CodingKey {
      case proxy
      case higherIsBetter = "higher_is_better"
      case kendallTau = "kendall_tau", spearmanRho = "spearman_rho", pearsonR = "pearson_r"
      case topPrecision = "top_precision", stability
      case msPerCandidate = "ms_per_candidate", perSeed = "per_seed"
    }
  }

  struct Report: Encodable {
    var space: String
    var sample: Int
    var sampleSeed: UInt64
    var probeSeeds: [UInt64]
    var truth: String?
    var rows: [Row]
    /// One-off milliseconds (one thread) to calibrate the ensemble on its reference sample.
    var ensembleCalibrationMs: Double?
    /// The scoring spec of the first probe seed (the others differ only in `seed`).
    var spec: ScoringSpec

    enum CodingKeys: String, CodingKey {
      case space, sample, truth, rows, spec
      case sampleSeed = "sample_seed", probeSeeds = "probe_seeds", ensembleCalibrationMs = "ensemble_calibration_ms"
    }
  }

  static func run(_ args: ParsedArguments) throws {
    try ScoringOptions.configureThreads(args)
    let proxies = try ScoringOptions.proxies(args)
    let probeSeeds = try args.list("probe-seeds").map { text throws -> UInt64 in
      guard let seed = UInt64(text) else { throw args.usageError("--probe-seeds takes non-negative integers, got '\(text)'") }
      return seed
    }
    guard !probeSeeds.isEmpty, Set(probeSeeds).count == probeSeeds.count else {
      throw args.usageError("--probe-seeds needs at least one seed, each once")
    }
    let truthPath = args.string("truth")
    let truth = try truthPath.map { try TruthTable.read($0, field: args.string("truth-field", default: "accuracy")) }
    let n = try args.int("sample", range: 1...1_000_000)!
    let sampleSeed = UInt64(try args.int("sample-seed", range: 0...Int.max)!)
    let costSample = try args.int("cost-sample", range: 0...10_000)!
    let threads = Parallel.defaultThreads
    let base = try ScoringOptions.spec(args, proxies: proxies, seed: probeSeeds[0])

    let space = try SearchSpace.load(path: SearchSpaceLocator.resolve(base.space))
    let candidates = try distinctSample(space, count: n, seed: sampleSeed).filter { truth == nil || truth?[space.key(of: $0)] != nil }
    guard candidates.count >= 2 else {
      throw CommandLineError.data("fewer than 2 sampled architectures of \(space.name) have a value in \(truthPath ?? "")")
    }
    let truths = truth.map { t in candidates.map { t[space.key(of: $0)]! } }
    Log.info("measuring \(proxies.count) proxies on \(candidates.count) architectures of \(space.name), probe seeds \(probeSeeds.map(String.init).joined(separator: ","))")

    let jsonl = try args.string("jsonl").map { try JSONLinesWriter(path: $0) }
    defer { jsonl?.close() }
    // scores[proxy][seed index][candidate]
    var scores: [Proxy: [[Double]]] = [:]
    for (s, seed) in probeSeeds.enumerated() {
      var spec = base
      spec.seed = seed
      let session = try ScoringOptions.session(spec, memoryLimit: try ScoringOptions.memoryLimit(args), label: "calibrate seed \(seed)")
      let bar = ProgressBar(total: candidates.count, label: "seed \(seed)")
      for g in candidates {
        let evaluation = try session.evaluate(g)
        for p in proxies {
          if scores[p] == nil { scores[p] = Array(repeating: [], count: probeSeeds.count) }
          scores[p]![s].append(evaluation.scores[p.rawValue] ?? .nan)
        }
        try jsonl?.write(QualityLine(seed: seed, evaluation: evaluation))
        bar.advance(detail: evaluation.key)
      }
      bar.finish()
    }

    var costs: [Proxy: Double] = [:]
    var calibrationMs: Double?
    if costSample > 0 {
      Parallel.configure(threads: 1)
      for p in proxies {
        var spec = base
        spec.proxies = [p]
        let session = try ScoringSession(spec: spec)
        let started = ContinuousClock.now
        try session.calibrate()
        if p == .ensemble { calibrationMs = milliseconds(ContinuousClock.now - started) }
        let timed = candidates.prefix(costSample)
        let start = ContinuousClock.now
        for g in timed { _ = try session.evaluate(g) }
        costs[p] = milliseconds(ContinuousClock.now - start) / Double(timed.count)
      }
      Parallel.configure(threads: threads)
    }

    let rows = proxies.map { p -> Row in
      let perSeed = truths.map { t in scores[p]!.map { RankingQuality(scores: $0, truth: t, higherIsBetter: p.higherIsBetter) } } ?? []
      let mean = { (f: (RankingQuality) -> Double) -> Double? in
        perSeed.isEmpty ? nil : perSeed.map(f).reduce(0, +) / Double(perSeed.count)
      }
      return Row(
        proxy: p.rawValue, higherIsBetter: p.higherIsBetter, kendallTau: mean(\.kendallTau), spearmanRho: mean(\.spearmanRho),
        pearsonR: mean(\.pearsonR), topPrecision: mean(\.topPrecision),
        stability: rankingStability(scores[p]!, higherIsBetter: p.higherIsBetter), msPerCandidate: costs[p], perSeed: perSeed)
    }
    let report = Report(
      space: space.name, sample: candidates.count, sampleSeed: sampleSeed, probeSeeds: probeSeeds, truth: truthPath,
      rows: rows, ensembleCalibrationMs: calibrationMs, spec: base)
    if args.flag("json") { try JSONOutput.print(report) } else { printTable(report) }
  }

  /// One line of `--jsonl`: a candidate's scores under one probe seed.
  struct QualityLine: Encodable {
    var seed: UInt64
    var evaluation: ScoringSession.Evaluation

    enum CodingKeys: String, CodingKey { case seed }

    func encode(to encoder: any Encoder) throws {
      var c = encoder.container(keyedBy: CodingKeys.self)
      try c.encode(seed, forKey: .seed)
      try evaluation.encode(to: encoder)
    }
  }

  /// `count` distinct architectures drawn uniformly (all of them, in the space's order,
  /// when the space has no more): a ranking over repeats would count them twice.
  static func distinctSample(_ space: SearchSpace, count: Int, seed: UInt64) throws -> [Genotype] {
    if space.size <= Double(count) { return try space.enumerate() }
    var rng = SeededGenerator(seed: seed ^ 0x51_5541_4C49_5459)  // "QUALITY"
    var seen = Set<String>()
    var result: [Genotype] = []
    var attempts = 0
    while result.count < count, attempts < 1_000 * count {
      attempts += 1
      let g = space.sample(using: &rng)
      if seen.insert(space.key(of: g)).inserted { result.append(g) }
    }
    return result
  }

  static func milliseconds(_ d: Duration) -> Double {
    Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) * 1e-15
  }

  private static func format(_ value: Double?) -> String { value.map { String(format: "%.3f", $0) } ?? "-" }

  static func printTable(_ r: Report) {
    print("\(r.sample) architectures of \(r.space) (sample seed \(r.sampleSeed)) against \(r.truth ?? "no ground truth"); probe seeds \(r.probeSeeds.map(String.init).joined(separator: ",")).")
    print("τ, ρ, r and top-10 % precision are means over probe seeds; stability is the mean ρ between seeds; higher is better everywhere.")
    var table = Table(headers: ["proxy", "Kendall τ", "Spearman ρ", "Pearson r", "top-10 %", "stability ρ", "ms/cand (1 thread)"])
    let order = { (row: Row) in row.spearmanRho.map { $0.isNaN ? -2 : $0 } ?? row.stability }
    for row in r.rows.sorted(by: { order($0) > order($1) }) {
      table.append([
        row.proxy, format(row.kendallTau), format(row.spearmanRho), format(row.pearsonR), format(row.topPrecision), format(row.stability),
        row.msPerCandidate.map { String(format: "%.0f", $0) } ?? "-",
      ])
    }
    print(table.render(), terminator: "")
    if let ms = r.ensembleCalibrationMs {
      print("ensemble: plus a one-off calibration of \(String(format: "%.1f", ms / 1e3)) s (\(r.spec.reference.size) reference architectures, one thread).")
    }
  }
}
