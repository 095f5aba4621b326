extension SearchSpace {
  /// The memory footprint of an architecture of the space, without building it.
  /// `classCount` overrides the space's, as in `build`.
  public func footprint(of g: Genotype, classCount: Int? = nil) throws(SearchSpaceError) -> MemoryFootprint {
    do {
      return try family.footprint(g, in: self, classCount: classCount ?? self.classCount)
    } catch {
      throw .model(space: name, error)
    }
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
