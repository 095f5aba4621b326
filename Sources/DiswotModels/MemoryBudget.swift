/// The memory check applied before a network of a search space is built for scoring: its
/// estimated peak on the probe batch (`MemoryFootprint.scoringBytes`) against the limit.
/// `score`, `search --local`, the daemon (at `search.start` and when proposing) and the
/// workers all use it, so an architecture is refused alike everywhere.
public struct MemoryBudget: Sendable, Equatable {
  public var limit: MemoryLimit
  /// Probe batch size: activations scale with it.
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
    return "\(name) needs an estimated \(MemoryLimit.format(bytes)) to score on a probe batch of \(batch) "
      + "(\(footprint.parameters) parameters), over the memory limit of \(limit) (--max-memory)"
  }
}
