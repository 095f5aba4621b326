import DiswotCommandLine
import DiswotData
import DiswotTensor
import DiswotModels
import Foundation

/// `diswot-bench`: the performance figures recorded in Docs/benchmarks.md.
let bench = CommandSpec(
  "diswot-bench", abstract: "Measure diswot's throughput against this machine's sgemm rate.",
  discussion: "Every figure is compared with a 2048³ cblas_sgemm (best of 3, OpenBLAS on all cores) measured in the same run.",
  options: [.quiet, .verbose],
  subcommands: [
    CommandSpec(
      "engine", abstract: "ResNet forward pass at batch 64, whole network and (CIFAR ResNets) per convolution stage.",
      options: [
        .value("model", valueName: "name", default: "resnet56", help: "Model to run (any model name: resnet56, resnet18, resnet50, …)."),
        .value("size", valueName: "pixels", default: "32", help: "Image height and width (224 for torchvision's ResNets)."),
        .value("batch", valueName: "n", default: "64", help: "Images per forward pass."),
        .value("repeats", valueName: "n", default: "3", help: "Timed runs; the fastest counts."),
        .value("threads", valueName: "n", help: "Engine threads (default: all cores)."),
        .json,
      ]),
    CommandSpec(
      "score", abstract: "Score every candidate of a search space against a teacher (the search loop).",
      options: [
        .value("space", valueName: "name", default: "resnet-cifar-depth", help: "Search space to enumerate."),
        .value("teacher", valueName: "name", default: "resnet56", help: "Randomly initialised teacher."),
        .value("batch", valueName: "n", default: "64", help: "Probe batch size."),
        .value("threads", valueName: "n", help: "Engine threads (default: all cores)."),
        .json,
      ]),
    CommandSpec(
      "train", abstract: "Training steps at batch 64: plain ResNet-20 and KD from a ResNet-56 teacher.",
      options: [
        .value("batch", valueName: "n", default: "64", help: "Images per step."),
        .value("repeats", valueName: "n", default: "10", help: "Timed steps; the fastest counts."),
        .value("threads", valueName: "n", help: "Engine threads (default: all cores)."),
        .json,
      ]),
    CommandSpec(
      "load", abstract: "Image-folder loading (decode, resize, crop): images/s of the batch loader and of one core.",
      discussion: "Reads DIR/train (e.g. written by Scripts/make-image-folder.py) with the evaluation and the training transform.",
      options: [
        .value("data", valueName: "folder:DIR", help: "The image folder."),
        .value("size", valueName: "n", default: "224", help: "Input height and width."),
        .value("batch", valueName: "n", default: "64", help: "Images per batch."),
        .value("limit", valueName: "n", help: "Read only the first n images."),
        .value("serial", valueName: "n", default: "200", help: "Images decoded one by one on one core, for the comparison."),
        .json,
      ]),
    CommandSpec(
      "broker", abstract: "Round trips of no-op tasks through diswotd (no store, no engine): broker capacity.",
      options: [
        .value("tasks", valueName: "n", default: "50000", help: "One-candidate tasks to send."),
        .value("workers", valueName: "n", default: "2", help: "No-op local workers."),
        .json,
      ]),
    CommandSpec(
      "daemon-search", abstract: "A whole search through diswotd with 1, 2, … single-threaded local workers.",
      options: [
        .value("workers", valueName: "list", default: "1,2", help: "Worker counts to run, one search each."),
        .value("space", valueName: "name", default: "resnet-cifar-depth", help: "Search space."),
        .value("teacher", valueName: "name", default: "resnet56", help: "Randomly initialised teacher."),
        .value("batch", valueName: "n", default: "64", help: "Probe batch size."),
        .value("budget", valueName: "n", default: "64", help: "Evaluations (random search)."),
        .flag("noop", help: "No-op workers: measures the daemon's engine, SQLite and dispatch path."),
        .json,
      ]),
  ])

runMain {
  let args = try bench.parse()
  Log.configure(from: args)
  if ["engine", "score", "train"].contains(args.subcommandPath.first ?? "") {
    Parallel.configure(threads: try args.int("threads", default: Parallel.defaultThreads, range: 1...256))
  }
  switch args.subcommandPath {
  case ["engine"]:
    let batch = try args.int("batch", range: 1...1024)!
    let repeats = try args.int("repeats", range: 1...100)!
    let sgemm = Timing.sgemmGFLOPS(threads: System.coreCount)
    let modelName = args.string("model", default: "resnet56")
    let size = try args.int("size", range: 8...1024)!
    let results = try EngineBench.run(model: modelName, size: size, batch: batch, repeats: repeats, sgemm: sgemm)
    if args.flag("json") {
      try JSONOutput.print(results)
    } else {
      print(String(format: "sgemm 2048³ (OpenBLAS, %d threads, best of 3): %.1f GFLOP/s", System.coreCount, sgemm))
      var table = Table(headers: ["forward", "batch", "ms", "images/s", "conv GFLOP/s", "÷ sgemm"])
      for r in results {
        table.append([r.mode, "\(r.batch)", String(format: "%.2f", r.seconds * 1e3), String(format: "%.0f", r.imagesPerSecond),
                      String(format: "%.1f", r.convGFLOPS), String(format: "%.3f", r.ratio)])
      }
      print(table.render(), terminator: "")
      // The per-stage figures are those of the CIFAR ResNets' convolutions.
      if case .resnet = try ModelName(parsing: modelName), size == 32 {
        print("\nConvolutions alone, by stage:")
        try ConvBench.run(sgemm: sgemm, batch: batch, repeats: repeats)
      }
    }
  case ["score"]:
    let sgemm = Timing.sgemmGFLOPS(threads: System.coreCount)
    let r = try ScoreBench.run(
      space: args.string("space", default: "resnet-cifar-depth"), teacher: args.string("teacher", default: "resnet56"),
      batch: try args.int("batch", range: 2...1024)!, sgemm: sgemm)
    if args.flag("json") {
      try JSONOutput.print(r)
    } else {
      print(String(format: "sgemm 2048³ (OpenBLAS, %d threads, best of 3): %.1f GFLOP/s", System.coreCount, sgemm))
      print(String(format: "%d candidates in %.2f s: %.1f candidates/s, student convolutions %.1f GFLOP/s = %.3f × sgemm",
                   r.candidates, r.seconds, r.candidatesPerSecond, r.convGFLOPS, r.ratio))
    }
  case ["train"]:
    let sgemm = Timing.sgemmGFLOPS(threads: System.coreCount)
    let results = try TrainBench.run(batch: try args.int("batch", range: 2...1024)!, steps: try args.int("repeats", range: 1...1000)!, sgemm: sgemm)
    if args.flag("json") {
      try JSONOutput.print(results)
    } else {
      print(String(format: "sgemm 2048³ (OpenBLAS, %d threads, best of 3): %.1f GFLOP/s", System.coreCount, sgemm))
      var table = Table(headers: ["training step", "batch", "images/s", "conv GFLOP/s", "÷ sgemm"])
      for r in results {
        table.append([r.mode, "\(r.batch)", String(format: "%.0f", r.imagesPerSecond), String(format: "%.1f", r.convGFLOPS), String(format: "%.3f", r.ratio)])
      }
      print(table.render(), terminator: "")
    }
  case ["load"]:
    guard case .folder(let directory) = try DataSpec(parsing: try args.require("data")) else {
      throw args.usageError("--data must be folder:DIR")
    }
    let sgemm = Timing.sgemmGFLOPS(threads: System.coreCount)
    let results = try LoadBench.run(
      directory: directory, size: try args.int("size", range: 8...4096)!, batch: try args.int("batch", range: 1...4096)!,
      limit: try args.int("limit", range: 1...100_000_000), serialCount: try args.int("serial", range: 1...1_000_000)!)
    if args.flag("json") {
      try JSONOutput.print(results)
    } else {
      print(String(format: "sgemm 2048³ (OpenBLAS, %d threads, best of 3): %.1f GFLOP/s (the machine's state in this run)", System.coreCount, sgemm))
      var table = Table(headers: ["transform", "size", "batch", "images", "images/s", "cores used", "1 core images/s", "speed-up"])
      for r in results {
        table.append([r.transform, "\(r.size)", "\(r.batch)", "\(r.images)", String(format: "%.0f", r.imagesPerSecond),
                      String(format: "%.2f", r.coresUsed), String(format: "%.0f", r.serialImagesPerSecond), String(format: "%.2f×", r.speedup)])
      }
      print(table.render(), terminator: "")
    }
  case ["broker"]:
    let r = try DaemonBench.broker(tasks: try args.int("tasks", range: 1...100_000_000)!, workers: try args.int("workers", range: 1...64)!)
    if args.flag("json") {
      try JSONOutput.print(r)
    } else {
      print(String(format: "broker: %d no-op tasks through diswotd to %d workers in %.2f s: %.0f tasks/s", r.tasks, r.workers, r.seconds, r.tasksPerSecond))
    }
  case ["daemon-search"]:
    var results: [DaemonBench.SearchResult] = []
    for workers in args.list("workers").compactMap({ Int($0) }) {
      let r = try DaemonBench.search(
        workers: workers, noop: args.flag("noop"), space: args.string("space", default: "resnet-cifar-depth"),
        teacher: args.string("teacher", default: "resnet56"), batch: try args.int("batch", range: 2...4096)!,
        budget: try args.int("budget", range: 1...1_000_000)!)
      results.append(r)
      if !args.flag("json") {
        print(String(format: "%d worker%@: %d evaluations in %.2f s = %.2f/s, %.2f/s after the first result (worker time %.1f s)%@",
                     r.workers, r.workers == 1 ? "" : "s", r.evaluations, r.seconds, r.evaluationsPerSecond, r.steadyEvaluationsPerSecond,
                     r.workerSeconds,
                     results.count > 1 ? String(format: "; %.2f× / %.2f× the first", r.evaluationsPerSecond / results[0].evaluationsPerSecond,
                                                r.steadyEvaluationsPerSecond / results[0].steadyEvaluationsPerSecond) : ""))
      }
    }
    if args.flag("json") { try JSONOutput.print(results) }
  default:
    throw args.usageError("choose a benchmark: engine, score, train, load, broker, daemon-search")
  }
}
