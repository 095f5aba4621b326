import DiswotTensor

extension SearchSpace {
  /// A neighbour of `g`: one active position with more than one option changed to another
  /// of its options, chosen uniformly (a stage's depth or width, a cell edge's operation,
  /// a block's kernel or expansion). Returns `g` itself only when no position can change.
  public func mutate(_ g: Genotype, using rng: inout SeededGenerator) -> Genotype {
    var mutable: [(choice: Int, position: Int)] = []
    for (c, choice) in choices.enumerated() {
      for (p, options) in choice.options.enumerated()
      where options.count > 1 && family.isActive(choice: c, position: p, in: g, of: self) {
        mutable.append((c, p))
      }
    }
    guard !mutable.isEmpty else { return g }
    let (c, p) = mutable[Int(rng.next() % UInt64(mutable.count))]
    let count = choices[c].options[p].count
    var child = g
    // Shift by 1…count−1 so the new option always differs from the old one.
    child.choices[c][p] = (g.choices[c][p] + 1 + Int(rng.next() % UInt64(count - 1))) % count
    return family.canonical(child, in: self)
  }
}
