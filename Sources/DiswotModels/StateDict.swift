import DiswotTensor

extension Layer {
  /// Every state tensor under its PyTorch name, in PyTorch's order.
  public func stateDict() -> [(name: String, tensor: Tensor)] {
    var entries: [(name: String, tensor: Tensor)] = []
    visitState(prefix: "") { name, _, t in entries.append((name, t)) }
    return entries
  }

  /// Names of the learned parameters, in order (what an optimiser updates).
  public var parameterNames: [String] {
    var names: [String] = []
    visitState(prefix: "") { name, kind, _ in if kind == .parameter { names.append(name) } }
    return names
  }

  /// Replaces the model's state with tensors named as PyTorch names them.
  ///
  /// Accepts what real checkpoints contain: a `module.` prefix (from `DataParallel`) is
  /// stripped and `num_batches_tracked` counters are ignored. Anything else must match
  /// exactly; on a mismatch nothing is changed and the error lists every missing,
  /// unexpected and mis-shaped name. Every value must be finite: weights holding a NaN or
  /// an infinity (a diverged run, a corrupt or mis-converted file) would make every result
  /// computed from them meaningless, so they are refused, naming the first such tensor.
  public func loadState(_ tensors: [String: Tensor]) throws(ModelError) {
    var given: [String: Tensor] = [:]
    for (name, t) in tensors {
      let bare = name.hasPrefix("module.") ? String(name.dropFirst("module.".count)) : name
      if bare.hasSuffix("num_batches_tracked") { continue }
      given[bare] = t
    }
    var missing: [String] = [], misshaped: [String] = [], seen = Set<String>()
    visitState(prefix: "") { name, _, t in
      seen.insert(name)
      guard let g = given[name] else { missing.append(name); return }
      if g.shape != t.shape { misshaped.append("\(name) (file \(g.shape), model \(t.shape))") }
    }
    let unexpected = given.keys.filter { !seen.contains($0) }.sorted()
    if !missing.isEmpty || !unexpected.isEmpty || !misshaped.isEmpty {
      var parts: [String] = []
      func list(_ label: String, _ names: [String]) {
        guard !names.isEmpty else { return }
        let shown = names.prefix(8).joined(separator: ", ")
        parts.append("\(label): \(shown)\(names.count > 8 ? " and \(names.count - 8) more" : "")")
      }
      list("missing", missing)
      list("unexpected", unexpected)
      list("wrong shape", misshaped)
      throw .stateMismatch(parts.joined(separator: "; "))
    }
    for name in given.keys.sorted() {
      if let bad = given[name]!.firstNonFinite {
        throw .nonFiniteWeights(
          "tensor '\(name)' holds \(bad.value.isNaN ? "NaN" : "\(bad.value)") at element \(bad.index) of \(given[name]!.count); weights must be finite")
      }
    }
    visitState(prefix: "") { name, _, t in t = given[name]! }
  }
}
