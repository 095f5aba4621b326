import DiswotCommandLine
import DiswotFiles
import DiswotJSON
import DiswotReport
import DiswotWire
import Foundation

/// `diswot report`: one self-contained HTML page (inline SVG and CSS, no script, nothing
/// fetched) of a search, a training job, a ranking-quality run or a local training run.
enum ReportCommand {
  static let spec = CommandSpec(
    "report", abstract: "Write an HTML report of a search, a training job, scores against ground truth, or a training run.",
    discussion: """
      Give exactly one source. ID: a search or training job of the daemon (search.status and \
      search.best, or train.status and train.metrics). --scores FILE: JSON lines as 'search \
      --local --jsonl', 'score --jsonl' or 'quality --jsonl' write them — with --truth, a \
      ranking-quality page (score against ground truth per proxy, Kendall τ and Spearman ρ in \
      each title); without, a search page (--spec FILE adds the spec of a 'search --local \
      --json' result; --proxy picks the objective when the lines hold several proxies). \
      --run DIR: a local training run directory (metrics.jsonl, report.json). \
      The page is one file with no external resource: it opens offline and attaches to a \
      message. --html - writes it to standard output.
      """,
    positionals: "[<id>]",
    options: [
      .value("html", valueName: "file", help: "Where to write the page (required; '-': standard output)."),
      .value("scores", valueName: "file", help: "JSON lines of evaluations (search --local / score / quality --jsonl)."),
      .value("truth", valueName: "file", help: "Ground truth for --scores: 'KEY VALUE' lines, JSONL, or CSV with a header (key first)."),
      .value("truth-field", valueName: "name", default: "accuracy", help: "Value field of JSONL truth or CSV column (default for CSV: the last)."),
      .value("spec", valueName: "file", help: "For --scores without --truth: a JSON document with the run's 'spec' ('search --local --json')."),
      .value("proxy", valueName: "name", help: "For --scores without --truth: the proxy the search page ranks by."),
      .value("run", valueName: "dir", help: "A local training run directory ('diswot train --out DIR')."),
      .value("top", valueName: "k", default: "10", help: "Rows of a search's top table (1-10000)."),
    ] + DaemonOptions.options.filter { $0.long != "json" })

  static func run(_ args: ParsedArguments) throws {
    let output = try args.require("html")
    let sources = [args.positionals.isEmpty ? nil : "ID", args.string("scores").map { _ in "--scores" }, args.string("run").map { _ in "--run" }]
      .compactMap { $0 }
    guard sources.count == 1, args.positionals.count <= 1 else {
      throw args.usageError("give one source: a search or job ID, --scores FILE or --run DIR")
    }
    let top = try args.int("top", range: 1...10_000)!
    for option in ["truth", "spec", "proxy"] where args.isSet(option) && args.string("scores") == nil {
      throw args.usageError("--\(option) goes with --scores FILE")
    }
    if args.string("truth") != nil, args.isSet("spec") || args.isSet("proxy") {
      throw args.usageError("--spec and --proxy make a search page; with --truth the page is a ranking-quality one")
    }
    let html: String
    if let scores = args.string("scores") {
      html = try fromScores(scores, args: args, top: top)
    } else if let run = args.string("run") {
      html = try fromRun(run)
    } else {
      html = try fromDaemon(args.positionals[0], client: try DaemonClient(args), top: top)
    }
    if output == "-" {
      FileHandle.standardOutput.write(Data(html.utf8))
    } else {
      do {
        try DurableFile.writeAtomically(path: output, bytes: Array(html.utf8))
      } catch {
        throw CommandLineError.failure("cannot write \(output): \(error.reason)")
      }
      Log.info("wrote \(output) (\(html.utf8.count) bytes)")
    }
  }

  // MARK: - Sources

  private static func fromScores(_ path: String, args: ParsedArguments, top: Int) throws -> String {
    let lines = try jsonLines(path)
    do {
      if let truthPath = args.string("truth") {
        let field = args.string("truth-field", default: "accuracy")
        let truth = try TruthTable.read(truthPath, field: field)
        return try QualityReport(lines: lines, source: path, truth: truth, truthName: field).render()
      }
      var spec: JSONValue?
      if let specPath = args.string("spec") {
        let document = try jsonDocument(specPath)
        spec = document.objectValue?["spec"] ?? document
      }
      var report = try SearchReport(lines: lines, source: path, proxy: args.string("proxy"), spec: spec)
      report.top = top
      return report.render()
    } catch let error as ReportInputError {
      throw CommandLineError.data(error.description)
    }
  }

  /// A local run: `metrics.jsonl` per epoch, `report.json` (result and spec) once finished,
  /// else the training settings of `spec.json`.
  private static func fromRun(_ directory: String) throws -> String {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
      throw CommandLineError.data("\(directory) is not a directory (give a training run's directory, 'diswot train --out DIR')")
    }
    let metricsPath = directory + "/metrics.jsonl"
    guard FileManager.default.fileExists(atPath: metricsPath) else {
      throw CommandLineError.data("\(directory) holds no metrics.jsonl: not a training run directory")
    }
    let result = try optionalDocument(directory + "/report.json")
    let settings = try optionalDocument(directory + "/spec.json")
    let spec: JSONValue? = result?.objectValue.flatMap { $0["spec"] } ?? settings
    let lines = try jsonLines(metricsPath, skippingTornLastLine: true)
    do {
      var report = try TrainingReport(title: "Training run \(directory)", lines: lines, spec: spec)
      report.summary = [("state", result == nil ? "unfinished (no report.json yet)" : "finished")]
      report.addResult(result)
      return report.render()
    } catch {
      throw CommandLineError.data("\(directory): \(error.description)")
    }
  }

  private static func fromDaemon(_ id: String, client: DaemonClient, top: Int) throws -> String {
    do {
      if let status = try client.requestIfFound(.searchStatus, ["id": .string(id)]) {
        var report = try SearchReport(status: status, best: try allEvaluations(id, status: status, client: client))
        report.top = top
        return report.render()
      }
      guard let status = try client.requestIfFound(.trainStatus, ["id": .string(id)]) else {
        throw CommandLineError.data("the daemon has no search or training job with id '\(id)'")
      }
      if TeacherRankingReport.describes(status) { return TeacherRankingReport(status: status).render() }
      return try TrainingReport(job: status, metrics: try client.request(.trainMetrics, ["id": .string(id)])).render()
    } catch let error as ReportInputError {
      throw CommandLineError.data(error.description)
    }
  }

  /// `search.best` for every evaluation (k = all, at most 10000); a reply over the 1 MiB
  /// body limit is asked again for half as many, and the page says it shows only the best.
  private static func allEvaluations(_ id: String, status: JSONValue, client: DaemonClient) throws -> JSONValue {
    var k = min(10_000, max(1, status["evaluations"].intValue ?? 1))
    while true {
      if let reply = try client.requestIfFound(.searchBest, ["id": .string(id), "k": .int(k)], tooLargeIsNil: true) { return reply }
      guard k > 1 else { throw CommandLineError.failure("the daemon cannot send even one evaluation of search \(id)") }
      Log.info("the evaluations of \(id) do not fit one reply; asking for the best \(k / 2)")
      k /= 2
    }
  }

  // MARK: - Files

  /// The document at `path`, or nil when there is no such file. (Spelled out: `cond ?
  /// try jsonDocument(p) : nil` would make the nil JSON's null, JSONValue being
  /// nil-literal expressible.)
  private static func optionalDocument(_ path: String) throws -> JSONValue? {
    guard FileManager.default.fileExists(atPath: path) else { return Optional<JSONValue>.none }
    return .some(try jsonDocument(path))
  }

  private static func jsonDocument(_ path: String) throws -> JSONValue {
    guard let data = FileManager.default.contents(atPath: path) else { throw CommandLineError.data("cannot read \(path)") }
    do {
      return try JSONValue.parsing(Array(data))
    } catch {
      throw CommandLineError.data("\(path) is not JSON: \(error)")
    }
  }

  /// One JSON value per non-blank line; a run's log may end in a torn line (a crash
  /// mid-append), which is skipped as `MetricsLog` does.
  private static func jsonLines(_ path: String, skippingTornLastLine: Bool = false) throws -> [JSONValue] {
    guard FileManager.default.fileExists(atPath: path) else { throw CommandLineError.data("cannot read \(path): no such file") }
    let lines = try TruthTable.nonBlankLines(path)
    var values: [JSONValue] = []
    for (i, (number, line)) in lines.enumerated() {
      do {
        values.append(try JSONValue.parsing(Array(line.utf8)))
      } catch {
        if skippingTornLastLine, i == lines.count - 1 { break }
        throw CommandLineError.data("\(path):\(number): not JSON: \(error)")
      }
    }
    guard !values.isEmpty else { throw CommandLineError.data("\(path) holds no JSON lines") }
    return values
  }
}
