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
      dataset's usual statistics (ImageNet's for image folders). --logits keeps the outputs \
      themselves, e.g. to compare this forward pass with another framework's on the same images. \
      Images are read batch by batch; a folder's are decoded on all cores, resized on the \
      shorter side to round(size·8/7) (or --resize) and centre-cropped to --image-size \
      (torchvision's Resize + CenterCrop, PIL's bilinear filter).
      """,
    options: [
      .value("weights", valueName: "file", help: "Weights (safetensors, PyTorch state_dict names)."),
      .value("model", valueName: "model", help: "Expected architecture, a model name such as resnet56 (checked against the weights)."),
      .value("data", valueName: "spec", help: "Dataset: cifar10:DIR, cifar100:DIR, mnist:DIR or folder:DIR (DIR/train/<class>/*.jpg, DIR/val/… or DIR/test/…)."),
      .value("image-size", valueName: "n", help: "Input height and width (default: the data's own; 224 for folders)."),
      .value("resize", valueName: "n", help: "Folders: shorter side before the centre crop (default round(size·8/7); 32 keeps 32×32 images whole)."),
      .flag("skip-bad-images", help: "Leave out images that cannot be decoded, counted, instead of stopping at the first."),
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
    /// Bad images left out (--skip-bad-images).
    var skipped: Int
    /// How images were resized to the input size, when they were.
    var preprocessing: String?

    enum CodingKeys: String, CodingKey {
      case model, weights, data, split, normalization, correct, samples, accuracy, seconds, skipped, preprocessing
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
    let data = try DataSplit(spec, split)
    guard data.channels == model.inputChannels else {
      throw CommandLineError.data("the model takes \(model.inputChannels)-channel images, \(spec) has \(data.channels)-channel images")
    }
    let size = try args.int("image-size", range: 8...4096) ?? data.storedSize?[0] ?? 224
    let (height, width) = args.isSet("image-size") || data.storedSize == nil ? (size, size) : (data.storedSize![0], data.storedSize![1])
    let resize = try args.int("resize", range: 8...8192)
    do { try DataSplit.check(resize: resize, size: height, spec: spec) } catch { throw args.usageError("--resize: \(error)") }
    let note = data.resizeNote(height: height, width: width, resize: resize)
    if let note { Log.info("\(spec): \(note)") }
    let normalization = try chooseNormalization(args, metadata: file.metadata, spec: spec, channels: model.inputChannels)
    let total = min(data.count, limit ?? .max)
    guard total > 0 else { throw CommandLineError.data("\(spec) has no \(split.rawValue) images") }
    let skipBad = args.flag("skip-bad-images")

    let start = Date()
    let bar = ProgressBar(total: total, label: "eval")
    var (correct, samples) = (0, 0)
    var skipped: [String] = []
    var allLogits: [Float] = []
    var allLabels: [Int] = []
    for lo in stride(from: 0, to: total, by: batch) {
      var loaded = try data.load(Array(lo..<min(lo + batch, total)), height: height, width: width, resize: resize, skipBadImages: skipBad)
      skipped += loaded.skipped
      for path in loaded.skipped { Log.warning("skipped \(path): not decodable") }
      bar.advance(by: loaded.dataset.count + loaded.skipped.count)
      guard loaded.dataset.count > 0 else { continue }
      try loaded.dataset.normalize(normalization)
      let logits = try model.forward(loaded.dataset.images, mode: .inference)
      correct += top1Correct(logits: logits, labels: loaded.dataset.labels)
      samples += loaded.dataset.count
      if args.isSet("logits") {
        allLogits += logits.storage
        allLabels += loaded.dataset.labels
      }
    }
    bar.finish()
    guard samples > 0 else { throw CommandLineError.data("no image of \(spec) could be decoded (\(skipped.count) skipped)") }
    if let path = args.string("logits") {
      let tensors = [
        ("logits", try Tensor(shape: [samples, model.classCount], storage: allLogits)),
        ("labels", try Tensor(shape: [samples], storage: allLabels.map(Float.init))),
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
      normalization: normalization.description, correct: correct, samples: samples,
      accuracy: Double(correct) / Double(samples), seconds: seconds,
      imagesPerSecond: Double(samples + skipped.count) / seconds, skipped: skipped.count, preprocessing: note)
    if args.flag("json") {
      try JSONOutput.print(report)
    } else {
      print(String(format: "%@ on %@ (%@): %d/%d correct, top-1 %.2f %% (%.1f s, %.0f images/s)",
                   report.model, report.data, report.split, correct, samples,
                   report.accuracy * 100, seconds, report.imagesPerSecond)
            + (skipped.isEmpty ? "" : ", \(skipped.count) bad image\(skipped.count == 1 ? "" : "s") skipped")
            + (note.map { "; \($0)" } ?? ""))
    }
  }

  /// --mean/--std, else the weights' metadata (`mean`, `std`), else the dataset's default.
  static func chooseNormalization(
    _ args: ParsedArguments, metadata: [String: String], spec: DataSpec, channels: Int
  ) throws -> Normalization {
    let (mean, std) = (args.string("mean"), args.string("std"))
    guard (mean == nil) == (std == nil) else { throw args.usageError("--mean and --std go together") }
    guard let chosen = try Normalization.chosen(mean: mean, std: std, metadata: metadata, data: spec, channels: channels) else {
      throw CommandLineError.usage("no normalisation known for \(spec); give --mean and --std")
    }
    return chosen
  }
}
