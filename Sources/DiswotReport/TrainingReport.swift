import DiswotJSON
import Foundation

/// The page of a training run (a local run directory or a daemon job): loss terms, train
/// and test accuracy, learning rate and throughput per epoch, from `metrics.jsonl` lines
/// (`EpochMetrics`: `epoch` from 0, `lr`, `losses`, `train_accuracy`, `test_accuracy`,
/// `images_per_second`, `seconds`), the result and the spec.
public struct TrainingReport {
  /// One epoch's line, numbers as logged (NaN for `null`).
  public struct Epoch {
    public var epoch: Int
    public var learningRate: Double
    public var losses: [String: Double]
    public var trainAccuracy: Double?
    public var testAccuracy: Double?
    public var imagesPerSecond: Double
  }

  public var title: String
  public var summary: [(String, String)] = []
  public var epochs: [Epoch]
  /// Epochs the run logged in all (more than `epochs.count` when the daemon thinned them).
  public var totalEpochs: Int
  public var spec: JSONValue?
  public var refreshSeconds: Int?

  /// `lines`: `metrics.jsonl`'s objects in file order.
  public init(title: String, lines: [JSONValue], totalEpochs: Int? = nil, spec: JSONValue?) throws(ReportInputError) {
    self.title = title
    self.spec = spec
    var epochs: [Epoch] = []
    for (number, line) in lines.enumerated() {
      guard let o = line.objectValue, let epoch = o["epoch"]?.intValue, let losses = o["losses"]?.objectValue else {
        throw ReportInputError("metrics line \(number + 1) is not an epoch's metrics (needs 'epoch' and 'losses')")
      }
      let number = { (name: String) in o[name].map { $0 == .null ? Double.nan : ($0.doubleValue ?? .nan) } }
      epochs.append(Epoch(
        epoch: epoch, learningRate: number("lr") ?? .nan, losses: losses.mapValues { $0.doubleValue ?? .nan },
        trainAccuracy: number("train_accuracy"), testAccuracy: number("test_accuracy"),
        imagesPerSecond: number("images_per_second") ?? .nan))
    }
    self.epochs = epochs
    self.totalEpochs = totalEpochs ?? epochs.count
  }

  /// Summary lines from a `report.json` (local run) or a job's `result`: test accuracy,
  /// epochs, time, student file.
  public mutating func addResult(_ result: JSONValue?) {
    guard let r = result?.objectValue else { return }
    if let accuracy = r["test_accuracy"]?.doubleValue {
      let counts = r["test_correct"]?.intValue.flatMap { c in r["test_samples"]?.intValue.map { " (\(c)/\($0))" } } ?? ""
      summary.append(("test accuracy", String(format: "%.2f %%", accuracy * 100) + counts))
    }
    if let epochs = r["epochs"]?.intValue { summary.append(("epochs trained", "\(epochs)")) }
    if let seconds = r["seconds"]?.doubleValue { summary.append(("time", String(format: "%.0f s", seconds))) }
    if let student = r["student"]?.stringValue ?? r["student_path"]?.stringValue { summary.append(("student", student)) }
  }

  public func render() -> String {
    var page = HTMLPage(title: title, refreshSeconds: refreshSeconds)
    if !summary.isEmpty { page.table(headers: ["", ""], rows: summary.map { [Cell($0.0), Cell($0.1)] }, cssClass: "summary") }
    if epochs.count < totalEpochs {
      page.paragraph("\(totalEpochs) epochs logged; every few are shown (\(epochs.count)), the last included.", cssClass: "note")
    }
    if epochs.isEmpty {
      page.paragraph("No epoch has finished yet.", cssClass: "note")
    } else {
      page.heading("Per epoch")
      for chart in charts() { page.chart(chart) }
    }
    page.heading("Spec")
    page.specTable(spec)
    return page.render()
  }

  /// Loss terms, accuracies (%), learning rate, images/s — each against the epoch (from 1).
  func charts() -> [Chart] {
    let xs = epochs.map { Double($0.epoch + 1) }
    let xScale = Scale.linear(covering: xs + [1])
    let names = Set(epochs.flatMap(\.losses.keys)).sorted { ($0 == "total" ? 0 : 1, $0) < ($1 == "total" ? 0 : 1, $1) }
    let marks = epochs.count <= 40

    var loss = Chart(
      title: "Loss per epoch (mean over the epoch's steps)", xLabel: "epoch", yLabel: "loss",
      x: xScale, y: Scale.automatic(covering: epochs.flatMap(\.losses.values), decades: 2))
    for (i, name) in names.enumerated() {
      let series = epochs.compactMap { e in e.losses[name].map { (x: Double(e.epoch + 1), y: $0) } }
      loss.line(series, color: Palette.series(i), width: name == "total" ? 2.5 : 1.5, cssClass: "loss", dashed: name != "total", legend: name)
      if marks { loss.points(series, color: Palette.series(i), radius: 2.5, cssClass: "loss-point") }
    }

    let train = epochs.compactMap { e in e.trainAccuracy.map { (x: Double(e.epoch + 1), y: $0 * 100) } }
    let test = epochs.compactMap { e in e.testAccuracy.map { (x: Double(e.epoch + 1), y: $0 * 100) } }
    var accuracy = Chart(
      title: "Accuracy per epoch", xLabel: "epoch", yLabel: "accuracy (%)", x: xScale,
      y: .linear(covering: (train + test).map(\.y) + [0, 100]))
    accuracy.line(train, color: Palette.blue, cssClass: "train-accuracy", dashed: true, legend: "train (augmented batches)")
    accuracy.line(test, color: Palette.vermillion, cssClass: "test-accuracy", legend: "test")
    if marks {
      accuracy.points(train, color: Palette.blue, cssClass: "train-accuracy-point")
      accuracy.points(test, color: Palette.vermillion, cssClass: "test-accuracy-point")
    }

    let lrs = epochs.map { (x: Double($0.epoch + 1), y: $0.learningRate) }
    var lr = Chart(
      title: "Learning rate per epoch", xLabel: "epoch", yLabel: "learning rate", x: xScale,
      y: Scale.automatic(covering: lrs.map(\.y)))
    lr.line(lrs, color: Palette.bluishGreen, cssClass: "learning-rate", steps: true)

    let rates = epochs.map { (x: Double($0.epoch + 1), y: $0.imagesPerSecond) }
    var speed = Chart(
      title: "Training throughput per epoch", xLabel: "epoch", yLabel: "images per second", x: xScale,
      y: .linear(covering: rates.map(\.y), includingZero: true))
    speed.line(rates, color: Palette.reddishPurple, cssClass: "images-per-second")
    if marks {
      lr.points(lrs, color: Palette.bluishGreen, cssClass: "learning-rate-point")
      speed.points(rates, color: Palette.reddishPurple, cssClass: "images-per-second-point")
    }
    return [loss, accuracy, lr, speed]
  }
}

extension TrainingReport {
  /// A daemon job's page from its `train.status` object and its `train.metrics` reply;
  /// reloads every 5 s while the job is queued or running.
  public init(job status: JSONValue, metrics: JSONValue) throws(ReportInputError) {
    let s = status.objectValue ?? [:]
    let m = metrics.objectValue ?? [:]
    let id = s["id"]?.stringValue ?? "?"
    try self.init(
      title: "Training job \(id)" + (s["name"]?.stringValue.map { " — \($0)" } ?? ""), lines: m["epochs"]?.arrayValue ?? [],
      totalEpochs: m["total"]?.intValue, spec: s["spec"])
    let state = s["state"]?.stringValue ?? "?"
    summary = [("state", state)]
    if let p = s["progress"]?.objectValue, let epoch = p["epoch"]?.intValue, let epochs = p["epochs"]?.intValue {
      var line = "epoch \(epoch)/\(epochs)"
      if let step = p["step"]?.intValue, let steps = p["steps"]?.intValue { line += ", step \(step)/\(steps)" }
      if let rate = p["images_per_second"]?.doubleValue { line += String(format: ", %.0f images/s", rate) }
      summary.append(("progress", line))
    }
    if let student = s["student"] { summary.append(("student", IndexPage.studentText(student))) }
    if let data = s["data"]?.stringValue { summary.append(("data", data)) }
    if let search = s["search_id"]?.stringValue { summary.append(("student from search", search)) }
    if let worker = s["worker"]?.stringValue { summary.append(("worker", worker)) }
    if let error = s["error"]?.stringValue { summary.append(("error", error)) }
    summary.append(("created", s["created"]?.stringValue ?? "?"))
    summary.append(("updated", s["updated"]?.stringValue ?? "?"))
    addResult(s["result"])
    if state == "queued" || state == "running" { refreshSeconds = 5 }
  }
}
