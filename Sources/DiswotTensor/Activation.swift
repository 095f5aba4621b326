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

/// dy *= (y > 0), in place, from the forward pass's output (ReLU runs in place, so its
/// input is gone; y > 0 exactly where x > 0, and PyTorch also gives 0 at x = 0).
/// output, dOutput: same shape
public func relu_backward(output: Tensor, dOutput: inout Tensor) throws(TensorError) {
  try maskGradient(output, &dOutput, "ReLU", upper: .infinity)
}

/// dy *= (0 < y < 6), in place, from the forward pass's output: the gradient stops where
/// the input was clipped at either end (PyTorch's hardtanh backward).
/// output, dOutput: same shape
public func relu6_backward(output: Tensor, dOutput: inout Tensor) throws(TensorError) {
  try maskGradient(output, &dOutput, "ReLU6", upper: 6)
}

/// Zeroes `dOutput` wherever the output is not strictly between 0 and `upper`; eight
/// lanes at a time with selects, so the loop has no branches.
private func maskGradient(
  _ output: Tensor, _ dOutput: inout Tensor, _ name: String, upper: Float
) throws(TensorError) {
  guard output.shape == dOutput.shape else {
    throw .shapeMismatch("\(name) output \(output.shape) and its gradient \(dOutput.shape) differ")
  }
  output.withUnsafeBufferPointer { yp in
    dOutput.withUnsafeMutableBufferPointer { gp in
      guard let y = yp.baseAddress, let g = gp.baseAddress else { return }
      let count = gp.count
      let chunks = max(1, min(Parallel.threads, count / 65_536))
      Parallel.forEach(chunks) { t in
        let (lo, hi) = (count * t / chunks, count * (t + 1) / chunks)
        let vectorEnd = lo + (hi - lo) / 8 * 8
        let zero = SIMD8<Float>(), top = SIMD8<Float>(repeating: upper)
        for i in stride(from: lo, to: vectorEnd, by: 8) {
          let v = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
          let d = UnsafeRawPointer(g + i).loadUnaligned(as: SIMD8<Float>.self)
          let kept = zero.replacing(with: d, where: (v .> zero) .& (v .< top))
          UnsafeMutableRawPointer(g + i).storeBytes(of: kept, as: SIMD8<Float>.self)
        }
        for i in vectorEnd..<hi where !(y[i] > 0 && y[i] < upper) { g[i] = 0 }
      }
    }
  }
}
