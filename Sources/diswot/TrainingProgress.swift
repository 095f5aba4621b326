import DiswotCommandLine
import DiswotJSON

/// Training progress as a newcomer reads it: a bar counting steps over the whole run with
/// its ETA (as scoring shows one), and every number labelled —
/// "epoch 3/240 (step 12/782), loss 1.2345, train accuracy 56.2 %, lr 0.05, 812 images/s".
/// Local runs (`diswot train`) and daemon jobs (`train start --wait`, `train status`)
/// print the same words.
struct TrainingProgress {
  /// 1-based epoch.
  var epoch: Int
  var epochs: Int
  /// Steps done in this epoch.
  var step: Int
  var steps: Int
  var loss: Double
  var accuracy: Double
  var learningRate: Double?
  var imagesPerSecond: Double
  var testAccuracy: Double?

  /// Steps done in the whole run.
  var completed: Int { (epoch - 1) * steps + step }

  /// A daemon job's `progress` object (Docs/protocol.md, train.status), nil if it has none yet.
  init?(_ p: JSONValue) {
    guard let epoch = p["epoch"].intValue, let steps = p["steps"].intValue else { return nil }
    self.init(
      epoch: epoch, epochs: p["epochs"].intValue ?? 0, step: p["step"].intValue ?? 0, steps: steps,
      loss: p["loss"].doubleValue ?? .nan, accuracy: p["accuracy"].doubleValue ?? .nan, learningRate: p["lr"].doubleValue,
      imagesPerSecond: p["images_per_second"].doubleValue ?? 0, testAccuracy: p["test_accuracy"].doubleValue)
  }

  init(
    epoch: Int, epochs: Int, step: Int, steps: Int, loss: Double, accuracy: Double, learningRate: Double?,
    imagesPerSecond: Double, testAccuracy: Double? = nil
  ) {
    (self.epoch, self.epochs, self.step, self.steps) = (epoch, epochs, step, steps)
    (self.loss, self.accuracy, self.learningRate) = (loss, accuracy, learningRate)
    (self.imagesPerSecond, self.testAccuracy) = (imagesPerSecond, testAccuracy)
  }

  /// The labelled numbers.
  var text: String {
    var parts = [
      "epoch \(epoch)/\(epochs) (step \(step)/\(steps))", "loss " + format("%.4f", loss),
      "train accuracy " + format("%.1f %%", accuracy * 100),
    ]
    if let learningRate { parts.append("lr " + format("%.4g", learningRate)) }
    parts.append(format("%.0f", imagesPerSecond) + " images/s")
    if let testAccuracy { parts.append("test accuracy " + format("%.1f %%", testAccuracy * 100)) }
    return parts.joined(separator: ", ")
  }

  private func format(_ pattern: String, _ value: Double) -> String { String(format: pattern, value) }
}

/// The bar of a training run, made on the first progress report (the run's length in
/// steps is known then). The step that report announces was done since this bar was
/// asked for, so it counts towards the rate, timed from then; a resumed run's earlier
/// steps do not.
final class TrainingProgressBar {
  private let label: String
  private var bar: ProgressBar?
  private let started = ProgressBar.monotonicSeconds()

  init(label: String) { self.label = label }

  func show(_ progress: TrainingProgress) {
    if bar == nil {
      bar = ProgressBar(
        total: progress.epochs * progress.steps, label: label, unit: "steps", completed: max(0, progress.completed - 1),
        startedAt: started)
    }
    bar?.update(completed: progress.completed, detail: progress.text)
  }

  func finish() { bar?.finish() }
}
