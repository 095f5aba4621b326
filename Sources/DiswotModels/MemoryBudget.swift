/// The memory check applied before a network is built to be scored or trained: its
/// estimated peak on a batch (`MemoryFootprint.scoringBytes`; a training step keeps what a
/// scoring backward pass keeps, with momentum buffers instead of synflow's saved copy)
/// against the limit. `score`, `search --local`, `train`, the daemon (at `search.start` and
/// when proposing) and the workers all use it, so an architecture is refused alike
/// everywhere.
public struct MemoryBudget: Sendable, Equatable {
  public var limit: MemoryLimit
  /// Probe (or training) batch size: activations scale with it.
  public var batch: Int
  /// Classes of the networks' classifiers.
  public var classCount: Int

  public init(limit: MemoryLimit, batch: Int, classCount: Int) {
    self.limit = limit
    self.batch = batch
    self.classCount = classCount
  }

  /// The estimated bytes of scoring `g`; nil when it cannot be built at all.
  public func bytes(of g: Genotype, in space: SearchSpace) -> Int? {
    (try? space.footprint(of: g, classCount: classCount))?.scoringBytes(batch: batch)
  }

  /// Nil when `g` fits; otherwise why not, naming the architecture, the estimate and the limit.
  public func refusal(of g: Genotype, in space: SearchSpace) -> String? {
    guard let footprint = try? space.footprint(of: g, classCount: classCount) else { return nil }
    return refusal(footprint, of: space.key(of: g))
  }

  /// Nil when a network with this footprint fits; otherwise why not.
  public func refusal(_ footprint: MemoryFootprint, of name: String) -> String? {
    let bytes = footprint.scoringBytes(batch: batch)
    guard bytes > limit.bytes else { return nil }
    return "\(name) needs an estimated \(MemoryLimit.format(bytes)) for a batch of \(batch) "
      + "(\(footprint.parameters) parameters), over the memory limit of \(limit) (--max-memory)"
  }
}
