/// Element-wise activations.

/// y = max(x, 0), in place (the engine applies ReLU to tensors it owns, so no copy).
/// x: any shape
public func relu_forward(_ x: inout Tensor) {
  x.withUnsafeMutableBufferPointer { p in
    let base = p.baseAddress!, count = p.count
    // Below ~64 K elements a second thread costs more than it saves.
    let chunks = max(1, min(Parallel.threads, count / 65_536))
    Parallel.forEach(chunks) { t in
      for i in (count * t / chunks)..<(count * (t + 1) / chunks) { base[i] = max(base[i], 0) }
    }
  }
}

/// y = min(max(x, 0), 6), in place (`nn.ReLU6`, MobileNetV2's activation: the cap keeps
/// activations in a range low-precision arithmetic represents well).
/// x: any shape
public func relu6_forward(_ x: inout Tensor) {
  x.withUnsafeMutableBufferPointer { p in
    let base = p.baseAddress!, count = p.count
    let chunks = max(1, min(Parallel.threads, count / 65_536))
    Parallel.forEach(chunks) { t in
      for i in (count * t / chunks)..<(count * (t + 1) / chunks) { base[i] = min(max(base[i], 0), 6) }
    }
  }
}
