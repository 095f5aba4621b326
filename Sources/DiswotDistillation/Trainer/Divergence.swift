import DiswotTensor

/// Stopping a run that diverges, before anything it computed afterwards reaches the disk.
///
/// A step whose total loss is not finite, or exceeds `maxLoss`, ends the run with
/// `TrainingError.diverged`: no further checkpoint is written (the last one on disk, if
/// any, is from before the divergence and stays as it is) and no `student.safetensors`.
/// Weights are also checked before every checkpoint, so a NaN that reached them without
/// showing in a loss yet is not saved either.
extension Trainer {
  /// The largest total loss a step may have. Cross-entropy starts near ln K (2.3 for 10
  /// classes, 4.6 for 100), Hinton KD's KL·T² and the feature losses stay within tens on
  /// a healthy run; a loss of 10⁴ means the weights have blown up, and the next steps
  /// overflow to infinity or NaN.
  public static let maxLoss = 1e4

  /// Throws when a step's loss shows that training has diverged.
  func checkLoss(_ loss: Double, epoch: Int, step: Int, learningRate: Double) throws(TrainingError) {
    guard !loss.isFinite || loss > Self.maxLoss else { return }
    let what = loss.isFinite ? "loss \(loss) exceeds \(Self.maxLoss)" : "loss is \(loss.isNaN ? "NaN" : "infinite")"
    throw diverged("at epoch \(epoch + 1) step \(step) (learning rate \(learningRate)) the \(what)")
  }

  /// Throws when a tensor about to be checkpointed is not finite.
  func checkFinite(_ tensors: [(name: String, tensor: Tensor)]) throws(TrainingError) {
    for (name, tensor) in tensors {
      if let bad = tensor.firstNonFinite {
        throw diverged("'\(name)' holds \(bad.value.isNaN ? "NaN" : "\(bad.value)") at element \(bad.index)")
      }
    }
  }

  private func diverged(_ what: String) -> TrainingError {
    let kept = lastCheckpoint.map {
      "the last checkpoint (\($0.step == 0 ? "at the start of epoch \($0.epoch + 1)" : "epoch \($0.epoch + 1) after step \($0.step)")) is kept"
    } ?? "no checkpoint had been written"
    return .diverged("training diverged: \(what); \(kept) and no student was written; lower the learning rate")
  }
}
