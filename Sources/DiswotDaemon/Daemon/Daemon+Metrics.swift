import DiswotDistillation
import DiswotJSON
import DiswotWire

extension Daemon {
  /// Most epochs one `train.metrics` reply carries: ~200 bytes each keeps the reply far
  /// under the 1 MiB body limit; longer runs are thinned evenly, the last epoch kept.
  static let maxMetricsEpochs = 2000

  /// `train.metrics`: the job's `metrics.jsonl` (one object per finished epoch), read from
  /// its run directory — on this machine, where training workers write it (protocol
  /// section 5, TRAIN). Empty before the first epoch ends.
  func jobMetrics(_ id: String) throws -> JSONValue {
    guard let record = try store.job(id: id) else { throw WireError(.notFound, "no training job with id '\(id)'") }
    let directory = jobs[id]?.directory ?? record.checkpointDir ?? jobsDirectory + "/" + id
    let epochs: [EpochMetrics]
    do {
      epochs = try MetricsLog.read(directory: directory)
    } catch .missing {
      epochs = []
    } catch {
      throw WireError(.internal, "cannot read the metrics of job \(id): \(error)")
    }
    let every = max(1, (epochs.count + Self.maxMetricsEpochs - 1) / Self.maxMetricsEpochs)
    var kept = stride(from: 0, to: epochs.count, by: every).map { epochs[$0] }
    if let last = epochs.last, kept.last != last { kept.append(last) }
    return ["id": .string(id), "total": .int(epochs.count), "epochs": .array(try kept.map { try JSONCoding.value($0) })]
  }
}
