import DiswotCommandLine
import DiswotScoring
import DiswotTensor
import Foundation

/// `diswot teachers`: which of several pretrained models to distil from, for this data,
/// before training any student — the options read into a `TeacherRankingSpec` and run by
/// `TeacherRanking` (DiswotScoring), as a daemon worker runs `teachers start`.
enum TeachersCommand {
  static let spec = CommandSpec(
    "teachers", abstract: "Rank candidate teachers for a dataset: how likely their heads find its labels, or how well their features separate its classes.",
    discussion: """
      Each candidate runs forward once on --limit images of the --split (spread evenly over \
      it, so a folder sorted by class keeps every class). Two measures, both reported either \
      way: the mean log-probability the candidate's own classifier gives the true labels \
      (likelihood: what logit distillation passes on is that distribution, and the \
      likelihood sees a wrong head and confident mistakes, not a teacher that memorised \
      these very images), and the leave-one-out accuracy of a k-nearest-neighbour \
      classifier on its globally pooled penultimate features (knn: cosine similarity, --k \
      neighbours, ties to the class met first; no head is used, so a \
      teacher trained on other classes is ranked like any other, and its note says so). \
      --measure auto (the default) ranks by likelihood when every candidate has the data's \
      classes, else by knn. Higher is better. Inputs are normalised as `eval` does: \
      --mean/--std, else each weights file's metadata, else the dataset's usual statistics.
      """,
    options: [
      .value("data", valueName: "spec", help: "Target data: cifar10:DIR, cifar100:DIR, mnist:DIR or folder:DIR."),
      .value("candidates", valueName: "a,b,…", help: "Weights files of the candidate teachers (safetensors), comma-separated."),
      .value("split", valueName: "train|test", default: "train", help: "Which split's images to score on."),
      .value("limit", valueName: "n", default: "256", help: "Images to score on (all of the split if it has fewer)."),
      .value("k", valueName: "n", default: "10", help: "Neighbours voting for each image's class."),
      .value("measure", valueName: "auto|likelihood|knn", default: "auto", help: "What ranks the candidates: their heads' label log-likelihood, kNN accuracy of their features, or auto (likelihood when every head has the data's classes)."),
      .value("image-size", valueName: "n", help: "Input height and width (default: the data's own; 224 for folders)."),
      .value("batch", valueName: "n", default: "128", help: "Images per forward pass."),
      .value("mean", valueName: "m1,m2,m3", help: "Per-channel mean for normalisation (every candidate)."),
      .value("std", valueName: "s1,s2,s3", help: "Per-channel standard deviation for normalisation (every candidate)."),
      .value("threads", valueName: "n", help: "Worker threads (default: all cores)."),
      .json,
    ])

  /// The ranking options, shared by the local command and `teachers start`.
  static let rankingOptions: [OptionSpec] = OptionSpec.except(["threads", "json"], from: spec.options)

  /// The request the options describe, checked by `TeacherRankingSpec.validate()` (the
  /// daemon's check too) as far as no file is needed. `absolutePaths` for the daemon,
  /// which cannot know where this client runs.
  static func rankingSpec(_ args: ParsedArguments, absolutePaths: Bool = false) throws -> TeacherRankingSpec {
    let data = try args.require("data")
    var spec = TeacherRankingSpec(
      data: absolutePaths ? ClientPaths.absoluteData(data) : data,
      candidates: args.list("candidates").map { absolutePaths ? ClientPaths.absolute($0) : $0 })
    spec.split = args.string("split", default: spec.split)
    spec.limit = try args.int("limit", default: spec.limit)
    spec.k = try args.int("k", default: spec.k)
    spec.imageSize = try args.int("image-size")
    spec.batch = try args.int("batch", default: spec.batch)
    spec.mean = args.string("mean")
    spec.std = args.string("std")
    let measure = args.string("measure", default: spec.measure.rawValue)
    guard let parsed = TeacherRankingMeasure(rawValue: measure) else { throw args.usageError("--measure must be auto, likelihood or knn, not '\(measure)'") }
    spec.measure = parsed
    do { try spec.validate() } catch { throw args.usageError("\(error)") }
    return spec
  }

  static func run(_ args: ParsedArguments) throws {
    let spec = try rankingSpec(args)
    Parallel.configure(threads: try args.int("threads", default: Parallel.defaultThreads, range: 1...256))
    let ranking = try TeacherRanking(spec)
    if let note = ranking.resizeNote { Log.info("\(ranking.dataSpec): \(note)") }
    var bar: ProgressBar?
    let report = try ranking.run(progress: { p in
      if p.done == 0 { bar = ProgressBar(total: p.images, label: URL(fileURLWithPath: p.weights).lastPathComponent) }
      bar?.update(completed: p.done)
      if p.done == p.images { bar?.finish() }
    })
    try show(report, json: args.flag("json"))
  }

  /// The ranking as `--json` or as a table: the local command and `teachers start --wait`
  /// print a ranking the same way wherever it ran.
  static func show(_ report: TeacherRankingReport, json: Bool) throws {
    if json { return try JSONOutput.print(report) }
    let measure = report.measure == TeacherRankingMeasure.likelihood.reportName
      ? "mean log-likelihood of the true labels under each head"
      : "leave-one-out \(report.k)-NN accuracy of the pooled features, cosine"
    print("teachers for \(report.data) (\(report.split), \(report.samples) images): \(measure); higher is better")
    var table = Table(headers: ["rank", "score", "±se", "knn", "head", "log-lik", "model", "classes", "s", "weights"])
    for c in report.candidates {
      table.append([
        "\(c.rank)", String(format: "%.4f", c.score), String(format: "%.4f", c.scoreError), String(format: "%.4f", c.knnAccuracy),
        c.headAccuracy.map { String(format: "%.4f", $0) } ?? "-", c.labelLogLikelihood.map { String(format: "%.4f", $0) } ?? "-",
        c.model, "\(c.classes)", String(format: "%.1f", c.seconds), c.weights + (c.note.map { "  (\($0))" } ?? ""),
      ])
    }
    print(table.render(), terminator: "")
  }
}
