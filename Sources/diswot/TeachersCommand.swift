import DiswotCommandLine
import DiswotData
import DiswotModels
import DiswotScoring
import DiswotTensor
import Foundation

/// `diswot teachers`: which of several pretrained models to distil from, for this data,
/// before training any student — each candidate's penultimate features on the target
/// images scored by `NearestNeighbourTransfer` (leave-one-out kNN accuracy, cosine).
enum TeachersCommand {
  static let spec = CommandSpec(
    "teachers", abstract: "Rank candidate teachers for a dataset by how well their features separate its classes.",
    discussion: """
      Each candidate runs forward once on --limit images of the --split (spread evenly over \
      it, so a folder sorted by class keeps every class); its globally pooled penultimate \
      features are scored by the leave-one-out accuracy of a k-nearest-neighbour classifier \
      (cosine similarity, --k neighbours, ties to the class met first). Higher is better; \
      no head is used, so a teacher trained on other classes is ranked like any other (its \
      note says so). Inputs are normalised as `eval` does: --mean/--std, else each weights \
      file's metadata, else the dataset's usual statistics.
      """,
    options: [
      .value("data", valueName: "spec", help: "Target data: cifar10:DIR, cifar100:DIR, mnist:DIR or folder:DIR."),
      .value("candidates", valueName: "a,b,…", help: "Weights files of the candidate teachers (safetensors), comma-separated."),
      .value("split", valueName: "train|test", default: "train", help: "Which split's images to score on."),
      .value("limit", valueName: "n", default: "1000", help: "Images to score on (all of the split if it has fewer)."),
      .value("k", valueName: "n", default: "10", help: "Neighbours voting for each image's class."),
      .value("image-size", valueName: "n", help: "Input height and width (default: the data's own; 224 for folders)."),
      .value("batch", valueName: "n", default: "128", help: "Images per forward pass."),
      .value("mean", valueName: "m1,m2,m3", help: "Per-channel mean for normalisation (every candidate)."),
      .value("std", valueName: "s1,s2,s3", help: "Per-channel standard deviation for normalisation (every candidate)."),
      .value("threads", valueName: "n", help: "Worker threads (default: all cores)."),
      .json,
    ])

  /// One candidate's line of the ranking.
  struct Candidate: Encodable {
    var rank: Int
    var weights: String
    var model: String
    var score: Double
    var correct: Int
    /// Top-1 of the teacher's own classifier on the same images, when its classes are the target's.
    var headAccuracy: Double?
    var classes: Int
    var features: Int
    var seconds: Double
    var note: String?

    enum CodingKeys: String, CodingKey {
      case rank, weights, model, score, correct, classes, features, seconds, note
      case headAccuracy = "head_accuracy"
    }
  }

  /// What `--json` prints.
  struct Report: Encodable {
    var data: String
    var split: String
    var samples: Int
    var k: Int
    var measure: String
    var candidates: [Candidate]
    var seconds: Double
  }

  static let measure = "knn-loo-cosine"

  static func run(_ args: ParsedArguments) throws {
    let spec = try DataSpec(parsing: try args.require("data"))
    let paths = args.list("candidates")
    guard !paths.isEmpty else { throw args.usageError("--candidates needs at least one weights file") }
    guard Set(paths).count == paths.count else { throw args.usageError("--candidates names a file twice") }
    guard let split = Split(rawValue: args.string("split", default: "train")) else {
      throw args.usageError("--split must be train or test")
    }
    let limit = try args.int("limit", range: 2...100_000)!
    let k = try args.int("k", range: 1...1000)!
    let batch = try args.int("batch", range: 1...4096)!
    Parallel.configure(threads: try args.int("threads", default: Parallel.defaultThreads, range: 1...256))

    let start = Date()
    let data = try DataSplit(spec, split)
    let total = min(data.count, limit)
    guard total >= 2 else { throw CommandLineError.data("\(spec) has \(data.count) \(split.rawValue) images; ranking needs at least 2") }
    guard k < total else { throw args.usageError("--k \(k) needs more than \(k) images; \(spec) gives \(total)") }
    // Evenly spaced, so that a split stored class by class (an image folder) keeps every class.
    let indices = (0..<total).map { $0 * data.count / total }
    let size = try args.int("image-size", range: 8...4096) ?? data.storedSize?[0] ?? 224
    let (height, width) = args.isSet("image-size") || data.storedSize == nil ? (size, size) : (data.storedSize![0], data.storedSize![1])
    if let note = data.resizeNote(height: height, width: width) { Log.info("\(spec): \(note)") }

    var results: [Candidate] = []
    for path in paths {
      results.append(try score(
        path, data: data, spec: spec, indices: indices, height: height, width: width, batch: batch, k: k,
        normalization: { file, channels in
          try EvalCommand.chooseNormalization(args, metadata: file.metadata, spec: spec, channels: channels)
        }))
    }
    // Best first; equal scores keep the order given.
    results = results.enumerated().sorted { a, b in
      a.element.score != b.element.score ? a.element.score > b.element.score : a.offset < b.offset
    }.map(\.element)
    for i in results.indices { results[i].rank = i + 1 }
    let report = Report(
      data: spec.description, split: split.rawValue, samples: total, k: k, measure: measure,
      candidates: results, seconds: Date().timeIntervalSince(start))
    if args.flag("json") {
      try JSONOutput.print(report)
      return
    }
    print("teachers for \(spec) (\(split.rawValue), \(total) images): leave-one-out \(k)-NN accuracy of the pooled features, cosine; higher is better")
    var table = Table(headers: ["rank", "score", "head", "model", "classes", "s", "weights"])
    for c in results {
      table.append([
        "\(c.rank)", String(format: "%.4f", c.score), c.headAccuracy.map { String(format: "%.4f", $0) } ?? "-",
        c.model, "\(c.classes)", String(format: "%.1f", c.seconds), c.weights + (c.note.map { "  (\($0))" } ?? ""),
      ])
    }
    print(table.render(), terminator: "")
  }

  /// One candidate's score on the images `indices` of `data` (unranked: rank 0).
  static func score(
    _ path: String, data: DataSplit, spec: DataSpec, indices: [Int], height: Int, width: Int, batch: Int, k: Int,
    normalization choose: (SafetensorsFile, Int) throws -> Normalization
  ) throws -> Candidate {
    let began = Date()
    let total = indices.count
    let file = try SafetensorsFile.read(path: path)
    let model = try ModelZoo.loadAny(file, name: nil)
    let name = try ModelZoo.architecture(of: file).name.description
    guard data.channels == model.inputChannels else {
      throw CommandLineError.data("\(path): the model takes \(model.inputChannels)-channel images, \(spec) has \(data.channels)-channel images")
    }
    let normalization = try choose(file, model.inputChannels)
    let sameClasses = model.classCount == data.classCount
    var features: [Float] = []
    var labels: [Int] = []
    var headCorrect = 0
    var featureWidth = 0
    let bar = ProgressBar(total: total, label: URL(fileURLWithPath: path).lastPathComponent)
    for lo in stride(from: 0, to: total, by: batch) {
      var loaded = try data.load(Array(indices[lo..<min(lo + batch, total)]), height: height, width: width, skipBadImages: false)
      try loaded.dataset.normalize(normalization)
      let output = try model.classify(loaded.dataset.images, mode: .inference)
      featureWidth = output.pooled.shape[1]
      features += output.pooled.storage
      labels += loaded.dataset.labels
      if sameClasses { headCorrect += top1Correct(logits: output.logits, labels: loaded.dataset.labels) }
      bar.advance(by: loaded.dataset.count)
    }
    bar.finish()
    let (score, correct) = try NearestNeighbourTransfer.accuracy(
      features: features, rows: labels.count, labels: labels, classCount: data.classCount, k: k)
    return Candidate(
      rank: 0, weights: path, model: name, score: score, correct: correct,
      headAccuracy: sameClasses ? Double(headCorrect) / Double(labels.count) : nil,
      classes: model.classCount, features: featureWidth, seconds: Date().timeIntervalSince(began),
      note: sameClasses ? nil : "\(model.classCount) classes, the data has \(data.classCount): ranked by its features only")
  }
}
