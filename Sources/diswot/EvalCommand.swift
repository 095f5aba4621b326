import DiswotCommandLine
import DiswotData
import DiswotModels
import DiswotTensor
import Foundation

/// `diswot eval`: top-1 accuracy of a model with given weights on a dataset split.
enum EvalCommand {
  static let spec = CommandSpec(
    "eval", abstract: "Top-1 accuracy of a model on a dataset split.",
    discussion: """
      The architecture is read off the weights file; --model, when given, must agree with it. \
      Inputs are normalised with --mean/--std, else the weights file's metadata, else the \
      dataset's usual statistics. --logits keeps the outputs themselves, e.g. to compare \
      this forward pass with another framework's on the same images.
      """,
    options: [
      .value("weights", valueName: "file", help: "Weights (safetensors, PyTorch state_dict names)."),
      .value("model", valueName: "model", help: "Expected architecture, a model name such as resnet56 (checked against the weights)."),
      .value("data", valueName: "spec", help: "Dataset: cifar10:DIR, cifar100:DIR or mnist:DIR."),
      .value("split", valueName: "train|test", default: "test", help: "Which split to evaluate."),
      .value("batch", valueName: "n", default: "128", help: "Images per forward pass."),
      .value("limit", valueName: "n", help: "Evaluate only the first n images."),
      .value("mean", valueName: "m1,m2,m3", help: "Per-channel mean for normalisation."),
      .value("std", valueName: "s1,s2,s3", help: "Per-channel standard deviation for normalisation."),
      .value("threads", valueName: "n", help: "Worker threads (default: all cores)."),
      .value("logits", valueName: "file", help: "Also write every image's logits and label (safetensors: logits F32 [N, K], labels I64 [N])."),
      .json,
    ])

  /// What `--json` prints.
  struct Report: Encodable {
    var model: String
    var weights: String
    var data: String
    var split: String
    var normalization: String
    var correct: Int
    var samples: Int
    var accuracy: Double
    var seconds: Double
    var imagesPerSecond: Double

    enum CodingKeys: String, CodingKey {
      case model, weights, data, split, normalization, correct, samples, accuracy, seconds
      case imagesPerSecond = "images_per_second"
    }
  }

  static func run(_ args: ParsedArguments) throws {
    let weightsPath = try args.require("weights")
    let spec = try DataSpec(parsing: try args.require("data"))
    guard let split = Split(rawValue: args.string("split", default: "test")) else {
      throw args.usageError("--split must be train or test")
    }
    let batch = try args.int("batch", range: 1...4096)!
    let limit = try args.int("limit", range: 1...10_000_000)
    Parallel.configure(threads: try args.int("threads", default: Parallel.defaultThreads, range: 1...256))

    let file = try SafetensorsFile.read(path: weightsPath)
    let model = try ModelZoo.loadAny(file, name: args.string("model"))
    // The name every command accepts for this architecture (`--teacher`, `--student`, …).
    let modelName = try ModelZoo.architecture(of: file).name.description
    var dataset = try spec.load(split, limit: limit)
    guard dataset.imageShape.first == model.inputChannels else {
      throw CommandLineError.data("the model takes \(model.inputChannels)-channel images, the data has \(dataset.imageShape)")
    }
    let normalization = try chooseNormalization(args, metadata: file.metadata, spec: spec, channels: model.inputChannels)
    try dataset.normalize(normalization)

    let start = Date()
    let bar = ProgressBar(total: dataset.count, label: "eval")
    var correct = 0
    var allLogits: [Float] = []
    for lo in stride(from: 0, to: dataset.count, by: batch) {
      let (images, labels) = dataset.batch(lo..<min(lo + batch, dataset.count))
      let logits = try model.forward(images, mode: .inference)
      correct += top1Correct(logits: logits, labels: labels)
      if args.isSet("logits") { allLogits += logits.storage }
      bar.advance(by: labels.count)
    }
    bar.finish()
    if let path = args.string("logits") {
      let tensors = [
        ("logits", try Tensor(shape: [dataset.count, model.classCount], storage: allLogits)),
        ("labels", try Tensor(shape: [dataset.count], storage: dataset.labels.map(Float.init))),
      ]
      do {
        try SafetensorsFile.write(
          path: path, tensors: tensors,
          metadata: ["weights": weightsPath, "data": spec.description, "split": split.rawValue,
                     "normalization": normalization.description],
          dtypes: ["labels": .i64])
      } catch {
        // An output that cannot be written is a failure (exit 1), as for every command.
        guard case .unwritable(_, let reason) = error else { throw error }
        throw CommandLineError.failure("cannot write \(path): \(reason)")
      }
    }
    let seconds = Date().timeIntervalSince(start)
    let report = Report(
      model: modelName, weights: weightsPath, data: spec.description, split: split.rawValue,
      normalization: normalization.description, correct: correct, samples: dataset.count,
      accuracy: Double(correct) / Double(dataset.count), seconds: seconds,
      imagesPerSecond: Double(dataset.count) / seconds)
    if args.flag("json") {
      try JSONOutput.print(report)
    } else {
      print(String(format: "%@ on %@ (%@): %d/%d correct, top-1 %.2f %% (%.1f s, %.0f images/s)",
                   report.model, report.data, report.split, correct, dataset.count,
                   report.accuracy * 100, seconds, report.imagesPerSecond))
    }
  }

  /// --mean/--std, else the weights' metadata (`mean`, `std`), else the dataset's default.
  static func chooseNormalization(
    _ args: ParsedArguments, metadata: [String: String], spec: DataSpec, channels: Int
  ) throws -> Normalization {
    switch (args.string("mean"), args.string("std")) {
    case let (mean?, std?):
      return try Normalization(mean: mean, std: std, channels: channels)
    case (nil, nil):
      break
    default:
      throw args.usageError("--mean and --std go together")
    }
    if let mean = metadata["mean"], let std = metadata["std"] {
      return try Normalization(mean: mean, std: std, channels: channels)
    }
    guard let fallback = spec.defaultNormalization else {
      throw CommandLineError.usage("no normalisation known for \(spec); give --mean and --std")
    }
    return fallback
  }
}
