/// The convolution written straight from its definition: the oracle the fast kernels are
/// tested against. Slow on purpose — one multiply-add per loop iteration, bounds checked
/// per tap, accumulated in `Double` so it is the more accurate side of every comparison.
///
/// input: [N, C, H, W], weight: [O, C/groups, kH, kW], bias: [O] or nil -> [N, O, outH, outW]
public func conv2d_forward_reference(
  _ input: Tensor, weight: Tensor, bias: Tensor?, geometry: Conv2dGeometry
) throws(TensorError) -> Tensor {
  let s = try Conv2dShapes(input: input, weight: weight, bias: bias, geometry: geometry)
  let g = geometry
  let inPerGroup = g.inChannels / g.groups
  let outPerGroup = g.outChannels / g.groups
  var output = Tensor(zeros: s.outputShape)
  let x = input.storage
  let w = weight.storage
  let b = bias?.storage
  var index = 0
  for n in 0..<s.batch {
    for o in 0..<g.outChannels {
      let group = o / outPerGroup
      for oy in 0..<s.outHeight {
        for ox in 0..<s.outWidth {
          var sum = Double(b?[o] ?? 0)
          for ci in 0..<inPerGroup {
            let c = group * inPerGroup + ci
            for ky in 0..<g.kernelH {
              let iy = oy * g.strideH + ky - g.padH
              guard iy >= 0 && iy < s.height else { continue }
              for kx in 0..<g.kernelW {
                let ix = ox * g.strideW + kx - g.padW
                guard ix >= 0 && ix < s.width else { continue }
                let xv = x[((n * g.inChannels + c) * s.height + iy) * s.width + ix]
                let wv = w[((o * inPerGroup + ci) * g.kernelH + ky) * g.kernelW + kx]
                sum += Double(xv) * Double(wv)
              }
            }
          }
          output.storage[index] = Float(sum)
          index += 1
        }
      }
    }
  }
  return output
}

/// The convolution's gradients written straight from their definition (`Conv2dBackward.swift`):
/// the oracle for `conv2d_backward`. Every output gradient is pushed back through each tap
/// it came from, accumulated in `Double`; the results are fresh tensors, not accumulated.
///
/// input: [N, C, H, W], weight: [O, C/groups, kH, kW], dOutput: [N, O, outH, outW]
/// -> dInput: [N, C, H, W], dWeight: [O, C/groups, kH, kW], dBias: [O]
public func conv2d_backward_reference(
  _ input: Tensor, weight: Tensor, dOutput: Tensor, geometry: Conv2dGeometry
) throws(TensorError) -> (dInput: Tensor, dWeight: Tensor, dBias: Tensor) {
  let s = try Conv2dShapes(input: input, weight: weight, bias: nil, geometry: geometry)
  guard dOutput.shape == s.outputShape else {
    throw .shapeMismatch("conv2d output gradient \(dOutput.shape), expected \(s.outputShape)")
  }
  let g = geometry
  let inPerGroup = g.inChannels / g.groups
  let outPerGroup = g.outChannels / g.groups
  let x = input.storage
  let w = weight.storage
  let dy = dOutput.storage
  var dx = [Double](repeating: 0, count: input.count)
  var dw = [Double](repeating: 0, count: weight.count)
  var db = [Double](repeating: 0, count: g.outChannels)
  var index = 0
  for n in 0..<s.batch {
    for o in 0..<g.outChannels {
      let group = o / outPerGroup
      for oy in 0..<s.outHeight {
        for ox in 0..<s.outWidth {
          let grad = Double(dy[index])
          index += 1
          db[o] += grad
          for ci in 0..<inPerGroup {
            let c = group * inPerGroup + ci
            for ky in 0..<g.kernelH {
              let iy = oy * g.strideH + ky - g.padH
              guard iy >= 0 && iy < s.height else { continue }
              for kx in 0..<g.kernelW {
                let ix = ox * g.strideW + kx - g.padW
                guard ix >= 0 && ix < s.width else { continue }
                let xi = ((n * g.inChannels + c) * s.height + iy) * s.width + ix
                let wi = ((o * inPerGroup + ci) * g.kernelH + ky) * g.kernelW + kx
                dx[xi] += Double(w[wi]) * grad
                dw[wi] += Double(x[xi]) * grad
              }
            }
          }
        }
      }
    }
  }
  return (
    try Tensor(shape: input.shape, storage: dx.map(Float.init)),
    try Tensor(shape: weight.shape, storage: dw.map(Float.init)),
    try Tensor(shape: [g.outChannels], storage: db.map(Float.init))
  )
}
