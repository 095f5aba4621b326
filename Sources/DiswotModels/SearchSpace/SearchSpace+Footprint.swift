extension SearchSpace {
  /// The memory footprint of an architecture of the space, without building it; throws
  /// what `build` would (an invalid description, the space's limits on parameters and
  /// MACs), so it also validates an architecture without allocating it.
  /// `classCount` overrides the space's, as in `build`.
  public func footprint(of g: Genotype, classCount: Int? = nil) throws(SearchSpaceError) -> MemoryFootprint {
    let footprint: MemoryFootprint
    do {
      footprint = try family.footprint(g, in: self, classCount: classCount ?? self.classCount)
    } catch {
      throw .model(space: name, error)
    }
    if let maxParams = limits.maxParams, footprint.parameters > maxParams {
      throw .invalidArchitecture(space: name, reason: "\(footprint.parameters) parameters exceed the space's limit of \(maxParams)")
    }
    if let maxMACs = limits.maxMACs, footprint.macs > maxMACs {
      throw .invalidArchitecture(space: name, reason: "\(footprint.macs) MACs exceed the space's limit of \(maxMACs)")
    }
    return footprint
  }

  /// The architecture of the space that is cheapest by `cost`, found position by
  /// position: starting from every position's first option, each position in turn takes
  /// the option that makes the whole architecture cheapest. Exact for costs that grow with
  /// each position's option independently, as memory does in every family (more blocks,
  /// more channels, larger kernels and expansions, convolutions rather than pooling or
  /// nothing). Architectures that cannot be built cost `.infinity`.
  public func cheapest(by cost: (Genotype) -> Double) -> Genotype {
    var g = family.canonical(Genotype(choices: choices.map { $0.options.map { _ in 0 } }), in: self)
    var best = cost(g)
    for c in choices.indices {
      for p in choices[c].options.indices {
        for i in choices[c].options[p].indices where i != g.choices[c][p] {
          var candidate = g
          candidate.choices[c][p] = i
          candidate = family.canonical(candidate, in: self)
          let value = cost(candidate)
          if value < best { (g, best) = (candidate, value) }
        }
      }
    }
    return g
  }
}
