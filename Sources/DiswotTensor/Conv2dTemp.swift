// TEMPORARY until the conv kernels land; replaced by Conv2d*.swift.
public struct Conv2dGeometry: Sendable, Equatable, Codable {
  public var inChannels, outChannels, kernelH, kernelW, strideH, strideW, padH, padW, groups: Int
  public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, groups: Int = 1) {
    self.inChannels = inChannels; self.outChannels = outChannels; kernelH = kernel; kernelW = kernel
    strideH = stride; strideW = stride; padH = padding; padW = padding; self.groups = groups
  }
  public func validate() throws(TensorError) {}
  public func outputSize(height: Int, width: Int) throws(TensorError) -> (height: Int, width: Int) {
    ((height + 2 * padH - kernelH) / strideH + 1, (width + 2 * padW - kernelW) / strideW + 1)
  }
  public var weightShape: [Int] { [outChannels, inChannels / groups, kernelH, kernelW] }
  public func macs(height: Int, width: Int) -> Int {
    let o = try! outputSize(height: height, width: width)
    return o.height * o.width * outChannels * (inChannels / groups) * kernelH * kernelW
  }
}
public func conv2d_forward(_ x: Tensor, weight: Tensor, bias: Tensor?, geometry g: Conv2dGeometry) throws(TensorError) -> Tensor {
  let o = try g.outputSize(height: x.h, width: x.w)
  var y = Tensor(zeros: [x.n, g.outChannels, o.height, o.width])
  let cg = g.inChannels / g.groups, og = g.outChannels / g.groups
  for n in 0..<x.n { for oc in 0..<g.outChannels { for oy in 0..<o.height { for ox in 0..<o.width {
    var s: Float = bias?.storage[oc] ?? 0
    let grp = oc / og
    for ic in 0..<cg { for ky in 0..<g.kernelH { for kx in 0..<g.kernelW {
      let iy = oy * g.strideH - g.padH + ky, ix = ox * g.strideW - g.padW + kx
      if iy >= 0 && iy < x.h && ix >= 0 && ix < x.w {
        s += x[n, grp * cg + ic, iy, ix] * weight[oc, ic, ky, kx]
      }
    }}}
    y[n, oc, oy, ox] = s
  }}}}
  return y
}
