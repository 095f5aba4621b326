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

  /// The safetensors dtype of every state entry not saved as F32: I64 for counters, as
  /// PyTorch saves them. Pass it to `SafetensorsFile.write` with `stateDict()`.
  public var stateDtypes: [String: SafetensorsDtype] {
    var dtypes: [String: SafetensorsDtype] = [:]
    visitState(prefix: "") { name, kind, _ in if kind == .counter { dtypes[name] = .i64 } }
    return dtypes
  }

  /// Replaces the model's state with tensors named as PyTorch names them.
  ///
  /// Accepts what real checkpoints contain: a `module.` prefix (from `DataParallel`) is
  /// stripped, and a counter (`num_batches_tracked`) may be absent, as in files written
  /// before PyTorch 0.4.1 or by converters that drop it: it then loads as 0 (no updates
  /// on record). Anything else must match exactly, and a counter must be a whole number
  /// ≥ 0; on a mismatch nothing is changed and the error lists every missing,
  /// unexpected, mis-shaped and invalid name.
  /// Every value must be finite: weights holding a NaN or an infinity (a diverged run, a
  /// corrupt or mis-converted file) would make every result computed from them
  /// meaningless, so they are refused, naming the first such tensor.
  public func loadState(_ tensors: [String: Tensor]) throws(ModelError) {
    var given: [String: Tensor] = [:]
    for (name, t) in tensors {
      given[name.hasPrefix("module.") ? String(name.dropFirst("module.".count)) : name] = t
    }
    var missing: [String] = [], misshaped: [String] = [], invalid: [String] = [], seen = Set<String>()
    visitState(prefix: "") { name, kind, t in
      seen.insert(name)
      guard let g = given[name] else {
        if kind != .counter { missing.append(name) }
        return
      }
      if g.shape != t.shape {
        misshaped.append("\(name) (file \(g.shape), model \(t.shape))")
      } else if kind == .counter, let bad = g.storage.first(where: { !($0 >= 0 && $0.rounded() == $0) }) {
        invalid.append("\(name) (\(bad) is not a count)")
      }
    }
    let unexpected = given.keys.filter { !seen.contains($0) }.sorted()
    if !missing.isEmpty || !unexpected.isEmpty || !misshaped.isEmpty || !invalid.isEmpty {
      var parts: [String] = []
      func list(_ label: String, _ names: [String]) {
        guard !names.isEmpty else { return }
        let shown = names.prefix(8).joined(separator: ", ")
        parts.append("\(label): \(shown)\(names.count > 8 ? " and \(names.count - 8) more" : "")")
      }
      list("missing", missing)
      list("unexpected", unexpected)
      list("wrong shape", misshaped)
      list("invalid", invalid)
      throw .stateMismatch(parts.joined(separator: "; "))
    }
    for name in given.keys.sorted() {
      if let bad = given[name]!.firstNonFinite {
        throw .nonFiniteWeights(
          "tensor '\(name)' holds \(bad.value.isNaN ? "NaN" : "\(bad.value)") at element \(bad.index) of \(given[name]!.count); weights must be finite")
      }
    }
    visitState(prefix: "") { name, _, t in t = given[name] ?? Tensor(zeros: t.shape) }
  }
}
