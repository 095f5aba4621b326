import DiswotModels
import DiswotScoring
import DiswotTensor
import DiswotTestSupport
import XCTest

/// conv1 (2→3, 3×3, padding 1, with bias) → batch norm → ReLU → conv2 (3→3, 3×3, stride 2,
/// padding 1) → ReLU → global average pooling → fc (3→4), on [N, 2, 4, 4] images: small
/// enough to differentiate numerically, with every kind of layer the proxies look at.
final class TinyConvNet: Classifier {
  let conv1: Conv2d
  let bn: BatchNorm2d
  let conv2: Conv2d
  let fc: Linear
  private var record: (hidden: Tensor, features: Tensor)?

  init(seed: UInt64) {
    conv1 = try! Conv2d(Conv2dGeometry(inChannels: 2, outChannels: 3, kernel: 3, padding: 1), bias: true)
    bn = BatchNorm2d(channels: 3)
    conv2 = try! Conv2d(Conv2dGeometry(inChannels: 3, outChannels: 3, kernel: 3, stride: 2, padding: 1))
    fc = Linear(inFeatures: 3, outFeatures: 4)
    var rng = SeededGenerator(seed: seed)
    initialize(.pytorchDefault, using: &rng)
    // Batch-norm state far from the defaults: scoring must neither use the running
    // statistics (batch statistics, or bypassed for synflow) nor change any of it.
    bn.state.weight = .uniform([3], low: 0.5, high: 1.5, using: &rng)
    bn.state.bias = .uniform([3], low: -0.3, high: 0.3, using: &rng)
    bn.state.runningMean = .uniform([3], low: -1, high: 1, using: &rng)
    bn.state.runningVar = .uniform([3], low: 0.5, high: 2, using: &rng)
  }

  var inputChannels: Int { 2 }
  var classCount: Int { 4 }
  var metadata: [String: String] { ["arch": "tiny"] }

  func classify(_ x: Tensor, mode: ForwardMode) throws(TensorError) -> ClassifierOutput {
    record = nil
    var hidden = try bn.forward(try conv1.forward(x, mode: mode), mode: mode)
    relu(&hidden, mode)
    var features = try conv2.forward(hidden, mode: mode)
    relu(&features, mode)
    let pooled = try global_avgpool_forward(features)
    let logits = try fc.forward(pooled, mode: mode)
    if mode.recordsForBackward { record = (hidden, features) }
    return ClassifierOutput(features: features, pooled: pooled, logits: logits)
  }

  func backward(dLogits: Tensor, dFeatures: Tensor?, computeInputGradient: Bool) throws(TensorError) -> Tensor? {
    guard let record else { throw .invalidArgument("TinyConvNet.backward without a record") }
    var d = try global_avgpool_backward(try fc.backward(dLogits), inputShape: record.features.shape)
    if let dFeatures { try add_forward(&d, dFeatures) }
    try relu_backward(output: record.features, dOutput: &d)
    var dHidden = try conv2.backward(d)
    try relu_backward(output: record.hidden, dOutput: &dHidden)
    return try conv1.backward(try bn.backward(dHidden), computeInputGradient: computeInputGradient)
  }

  var children: [(name: String, layer: Layer)] { [("conv1", conv1), ("bn", bn), ("conv2", conv2), ("fc", fc)] }

  func outputShapeAndMACs(input: [Int]) throws(TensorError) -> (shape: [Int], macs: Int) {
    let a = try conv1.outputShapeAndMACs(input: input)
    let b = try conv2.outputShapeAndMACs(input: a.shape)
    let c = try fc.outputShapeAndMACs(input: [input[0], 3])
    return (c.shape, a.macs + b.macs + c.macs)
  }
}

/// TinyConvNet written out in Double with plain loops: the independent side of every
/// comparison below. `scales` multiply the outputs of conv1, conv2 and fc per (sample,
/// channel) — the derivative of the loss with respect to such a factor at 1 is
/// Σ_spatial a·∂L/∂a, the quantity Fisher squares.
struct NaiveTinyNet {
  var w1: [Double], b1: [Double], gamma: [Double], beta: [Double], w2: [Double], fcW: [Double], fcB: [Double]

  enum Norm { case batch, bypass }

  struct Scales {
    var conv1: [Double]?
    var conv2: [Double]?
    var logits: [Double]?
  }

  init(_ net: TinyConvNet) {
    func d(_ t: Tensor) -> [Double] { t.storage.map(Double.init) }
    w1 = d(net.conv1.weight)
    b1 = d(net.conv1.bias!)
    gamma = d(net.bn.state.weight)
    beta = d(net.bn.state.bias)
    w2 = d(net.conv2.weight)
    fcW = d(net.fc.weight)
    fcB = d(net.fc.bias)
  }

  /// x: [n, 2, 4, 4] -> logits [n, 4]
  func logits(_ x: [Double], batch n: Int, norm: Norm, scales: Scales = Scales()) -> [Double] {
    var a1 = Self.conv(x, n: n, inChannels: 2, size: 4, weight: w1, bias: b1, outChannels: 3, stride: 1)
    Self.scale(&a1, scales.conv1, n: n, c: 3, plane: 16)
    if norm == .batch {
      for c in 0..<3 {
        var values: [Double] = []
        for i in 0..<n { for p in 0..<16 { values.append(a1[(i * 3 + c) * 16 + p]) } }
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
        for i in 0..<n {
          for p in 0..<16 {
            let index = (i * 3 + c) * 16 + p
            a1[index] = (a1[index] - mean) / (variance + 1e-5).squareRoot() * gamma[c] + beta[c]
          }
        }
      }
    }
    a1 = a1.map { max(0, $0) }
    var a2 = Self.conv(a1, n: n, inChannels: 3, size: 4, weight: w2, bias: nil, outChannels: 3, stride: 2)
    Self.scale(&a2, scales.conv2, n: n, c: 3, plane: 4)
    a2 = a2.map { max(0, $0) }
    var out = [Double](repeating: 0, count: n * 4)
    for i in 0..<n {
      for k in 0..<4 {
        var z = fcB[k]
        for c in 0..<3 { z += fcW[k * 3 + c] * (0..<4).map { a2[(i * 3 + c) * 4 + $0] }.reduce(0, +) / 4 }
        out[i * 4 + k] = z
      }
    }
    Self.scale(&out, scales.logits, n: n, c: 4, plane: 1)
    return out
  }

  /// Mean cross-entropy over the batch.
  func loss(_ x: [Double], batch n: Int, labels: [Int], scales: Scales = Scales()) -> Double {
    let z = logits(x, batch: n, norm: .batch, scales: scales)
    var total = 0.0
    for i in 0..<n {
      let row = z[(i * 4)..<(i * 4 + 4)]
      let top = row.max()!
      let lse = top + log(row.map { exp($0 - top) }.reduce(0, +))
      total += lse - z[i * 4 + labels[i]]
    }
    return total / Double(n)
  }

  static func conv(
    _ x: [Double], n: Int, inChannels: Int, size: Int, weight: [Double], bias: [Double]?, outChannels: Int,
    stride: Int
  ) -> [Double] {
    let out = (size + 2 - 3) / stride + 1
    var y = [Double](repeating: 0, count: n * outChannels * out * out)
    for i in 0..<n {
      for o in 0..<outChannels {
        for r in 0..<out {
          for s in 0..<out {
            var sum = bias?[o] ?? 0
            for c in 0..<inChannels {
              for u in 0..<3 {
                for v in 0..<3 {
                  let (row, col) = (r * stride - 1 + u, s * stride - 1 + v)
                  guard (0..<size).contains(row), (0..<size).contains(col) else { continue }
                  sum += weight[((o * inChannels + c) * 3 + u) * 3 + v] * x[((i * inChannels + c) * size + row) * size + col]
                }
              }
            }
            y[((i * outChannels + o) * out + r) * out + s] = sum
          }
        }
      }
    }
    return y
  }

  static func scale(_ a: inout [Double], _ factors: [Double]?, n: Int, c: Int, plane: Int) {
    guard let factors else { return }
    for i in 0..<n { for k in 0..<c { for p in 0..<plane { a[(i * c + k) * plane + p] *= factors[i * c + k] } } }
  }
}

/// Central difference of f at each coordinate of `values`, in Double.
private func numericGradient(_ values: [Double], step: (Double) -> Double = { _ in 1e-6 }, _ f: ([Double]) -> Double) -> [Double] {
  var probe = values
  return values.indices.map { i in
    let h = step(values[i])
    probe[i] = values[i] + h
    let up = f(probe)
    probe[i] = values[i] - h
    let down = f(probe)
    probe[i] = values[i]
    return (up - down) / (2 * h)
  }
}

/// Eigenvalues of a symmetric matrix by cyclic Jacobi rotations (an independent route to
/// jacob_cov, which the implementation computes from a Cholesky factor instead).
private func jacobiEigenvalues(_ matrix: [Double], order n: Int) -> [Double] {
  var a = matrix
  for _ in 0..<100 {
    var off = 0.0
    for p in 0..<n { for q in 0..<n where p != q { off += a[p * n + q] * a[p * n + q] } }
    if off < 1e-26 { break }
    for p in 0..<n {
      for q in (p + 1)..<n where a[p * n + q] != 0 {
        let theta = (a[q * n + q] - a[p * n + p]) / (2 * a[p * n + q])
        let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
        let c = 1 / (t * t + 1).squareRoot(), s = t * c
        for k in 0..<n {  // A ← A·J
          let (akp, akq) = (a[k * n + p], a[k * n + q])
          a[k * n + p] = c * akp - s * akq
          a[k * n + q] = s * akp + c * akq
        }
        for k in 0..<n {  // A ← Jᵀ·A
          let (apk, aqk) = (a[p * n + k], a[q * n + k])
          a[p * n + k] = c * apk - s * aqk
          a[q * n + k] = s * apk + c * aqk
        }
      }
    }
  }
  return (0..<n).map { a[$0 * n + $0] }
}

/// `np.corrcoef` of the rows of a [b, d] matrix, written out.
private func correlation(_ rows: [[Double]]) -> [Double] {
  let b = rows.count
  let centred = rows.map { row -> [Double] in
    let mean = row.reduce(0, +) / Double(row.count)
    return row.map { $0 - mean }
  }
  func dot(_ u: [Double], _ v: [Double]) -> Double { zip(u, v).map(*).reduce(0, +) }
  var c = [Double](repeating: 0, count: b * b)
  for i in 0..<b {
    for j in 0..<b {
      c[i * b + j] = dot(centred[i], centred[j]) / (dot(centred[i], centred[i]) * dot(centred[j], centred[j])).squareRoot()
    }
  }
  return c
}

private func referenceJacobCov(eigenvalues: [Double]) -> Double {
  -eigenvalues.map { log($0 + 1e-5) + 1 / ($0 + 1e-5) }.reduce(0, +)
}

private let gradientProxies: [Proxy] = [.gradNorm, .snip, .synflow, .logSynflow, .fisher, .jacobCov]

final class GradientProxyTests: XCTestCase {
  private let labels = [2, 0, 3]

  private func images(batch: Int = 3, seed: UInt64 = 5) -> Tensor {
    var rng = SeededGenerator(seed: seed)
    return Tensor.normal([batch, 2, 4, 4], using: &rng)
  }

  func testNamesAndDirections() throws {
    XCTAssertEqual(
      try Proxy.parseList(["grad_norm", "snip", "synflow", "log_synflow", "fisher", "jacob_cov"]), gradientProxies)
    for proxy in gradientProxies {
      XCTAssertTrue(proxy.higherIsBetter)
      XCTAssertTrue(proxy.isGradientBased)
    }
    XCTAssertFalse(Proxy.allCases.filter { !gradientProxies.contains($0) }.contains(where: \.isGradientBased))
  }

  /// grad_norm = Σ_layers ‖∂L/∂W‖ and snip = Σ |W ⊙ ∂L/∂W| over conv1, conv2 and fc
  /// weights (not the conv bias, not batch norm), with ∂L/∂W by central differences of
  /// the Double network's mean cross-entropy under batch statistics.
  func testGradNormAndSnipMatchFiniteDifferences() throws {
    let net = TinyConvNet(seed: 11)
    let x = images()
    let naive = NaiveTinyNet(net)
    let input = x.storage.map(Double.init)
    var expectedNorm = 0.0, expectedSnip = 0.0
    let weights: [WritableKeyPath<NaiveTinyNet, [Double]>] = [\.w1, \.w2, \.fcW]
    for path in weights {
      let g = numericGradient(naive[keyPath: path]) { w in
        var perturbed = naive
        perturbed[keyPath: path] = w
        return perturbed.loss(input, batch: 3, labels: labels)
      }
      expectedNorm += g.map { $0 * $0 }.reduce(0, +).squareRoot()
      expectedSnip += zip(g, naive[keyPath: path]).map { abs($0 * $1) }.reduce(0, +)
    }
    let scores = try gradientProxyScores([.gradNorm, .snip], model: net, images: x, labels: labels)
    XCTAssertEqual(Set(scores.keys), [.gradNorm, .snip])
    assertRelativelyClose(scores[.gradNorm]!, expectedNorm, rel: 1e-4)
    assertRelativelyClose(scores[.snip]!, expectedSnip, rel: 1e-4)
  }

  /// Every parameter made positive, batch norm bypassed (its random weight, bias and
  /// running statistics must not matter), one all-ones image, R = Σ logits.
  func testSynflowMatchesFiniteDifferencesWithBatchNormBypassed() throws {
    let net = TinyConvNet(seed: 12)
    var positive = NaiveTinyNet(net)
    for path: WritableKeyPath<NaiveTinyNet, [Double]> in [\.w1, \.b1, \.w2, \.fcW, \.fcB] {
      positive[keyPath: path] = positive[keyPath: path].map(abs)
    }
    let ones = [Double](repeating: 1, count: 32)
    var expected = 0.0, expectedLog = 0.0
    for path: WritableKeyPath<NaiveTinyNet, [Double]> in [\.w1, \.w2, \.fcW] {
      let g = numericGradient(positive[keyPath: path]) { w in
        var perturbed = positive
        perturbed[keyPath: path] = w
        return perturbed.logits(ones, batch: 1, norm: .bypass).reduce(0, +)
      }
      expected += zip(g, positive[keyPath: path]).map { abs($0 * $1) }.reduce(0, +)
      expectedLog += zip(g, positive[keyPath: path]).map { abs(log1p($0) * $1) }.reduce(0, +)
    }
    assertRelativelyClose(try synflowScore(net, imageShape: [2, 4, 4]), expected, rel: 1e-5)
    let scores = try gradientProxyScores([.synflow, .logSynflow], model: net, images: images(), labels: labels)
    assertRelativelyClose(scores[.synflow]!, expected, rel: 1e-5)
    assertRelativelyClose(scores[.logSynflow]!, expectedLog, rel: 1e-5)
  }

  /// Fisher from the derivatives of the loss with respect to a factor on each (sample,
  /// channel) of each Conv2d/Linear output: Σ_layers fanIn · Σ_k ½·mean_n g_nk², fan-ins
  /// 2·3·3, 3·3·3 and 3.
  func testFisherMatchesDerivativesOfChannelScaling() throws {
    let net = TinyConvNet(seed: 13)
    let x = images()
    let naive = NaiveTinyNet(net)
    let input = x.storage.map(Double.init)
    let sites: [(path: WritableKeyPath<NaiveTinyNet.Scales, [Double]?>, channels: Int, fanIn: Int)] = [
      (\.conv1, 3, 18), (\.conv2, 3, 27), (\.logits, 4, 3),
    ]
    var expected = 0.0
    for site in sites {
      let g = numericGradient([Double](repeating: 1, count: 3 * site.channels)) { factors in
        var scales = NaiveTinyNet.Scales()
        scales[keyPath: site.path] = factors
        return naive.loss(input, batch: 3, labels: labels, scales: scales)
      }
      var layer = 0.0
      for k in 0..<site.channels {
        layer += 0.5 * (0..<3).map { g[$0 * site.channels + k] * g[$0 * site.channels + k] }.reduce(0, +) / 3
      }
      expected += Double(site.fanIn) * layer
    }
    let scores = try gradientProxyScores([.fisher], model: net, images: x, labels: labels)
    XCTAssertEqual(Array(scores.keys), [.fisher])
    assertRelativelyClose(scores[.fisher]!, expected, rel: 1e-4)
  }

  /// J = ∂(Σ logits of the batch)/∂x by central differences of the Double network (batch
  /// statistics couple the samples), np.corrcoef written out, eigenvalues by Jacobi.
  func testJacobCovMatchesNaiveJacobianAndEigenvalues() throws {
    let net = TinyConvNet(seed: 14)
    let x = images()
    let naive = NaiveTinyNet(net)
    let j = numericGradient(x.storage.map(Double.init)) { input in
      naive.logits(input, batch: 3, norm: .batch).reduce(0, +)
    }
    let rows = (0..<3).map { Array(j[($0 * 32)..<($0 * 32 + 32)]) }
    let expected = referenceJacobCov(eigenvalues: jacobiEigenvalues(correlation(rows), order: 3))
    let scores = try gradientProxyScores([.jacobCov], model: net, images: x, labels: labels)
    assertRelativelyClose(scores[.jacobCov]!, expected, rel: 1e-4)
  }

  /// Two samples with correlation r: eigenvalues 1 ± r. Identical rows (r = 1, one
  /// eigenvalue 0) stay finite through k; a constant row is NaN, as in the reference.
  func testJacobCovClosedForms() throws {
    let j = tensor([2, 4], [1, 2, 3, 4, 2, 1, 4, 3])
    let r = 0.6  // centred rows (−1.5, −0.5, 0.5, 1.5) and (−0.5, −1.5, 1.5, 0.5): 3 / 5
    assertRelativelyClose(try jacobianCovarianceScore(j), referenceJacobCov(eigenvalues: [1 + r, 1 - r]), rel: 1e-12)
    let same = tensor([2, 3], [1, 2, 4, 2, 4, 8])
    assertRelativelyClose(try jacobianCovarianceScore(same), referenceJacobCov(eigenvalues: [2, 0]), rel: 1e-9)
    XCTAssertTrue(try jacobianCovarianceScore(tensor([2, 3], [1, 1, 1, 1, 2, 3])).isNaN)
    var rng = SeededGenerator(seed: 3)
    let wide = Tensor.normal([6, 40], using: &rng)
    let rows = (0..<6).map { i in (0..<40).map { Double(wide.storage[i * 40 + $0]) } }
    assertRelativelyClose(
      try jacobianCovarianceScore(wide), referenceJacobCov(eigenvalues: jacobiEigenvalues(correlation(rows), order: 6)),
      rel: 1e-10)
  }

  /// Power-of-two rescaling is exact: fixed scalings agree with the reference's unscaled
  /// pass on ResNet-20; a ResNet-44 overflows Float unscaled (the reference runs in
  /// double) and `.automatic` matches another in-range scaling.
  func testSynflowScaling() throws {
    let resnet20 = randomResNet(ResNetDescription(blocksPerStage: [3, 3, 3], widths: [16, 32, 64], shortcut: .b), seed: 3)
    let plain = try synflowScore(resnet20, imageShape: [3, 32, 32], scaling: .fixed(inputExponent: 0, gradientExponent: 0))
    XCTAssertTrue(plain.isFinite && plain > 0)
    assertRelativelyClose(try synflowScore(resnet20, imageShape: [3, 32, 32]), plain, rel: 1e-6)
    assertRelativelyClose(
      try synflowScore(resnet20, imageShape: [3, 32, 32], scaling: .fixed(inputExponent: -30, gradientExponent: -20)),
      plain, rel: 1e-6)

    let resnet44 = randomResNet(ResNetDescription(blocksPerStage: [7, 7, 7], widths: [16, 32, 64], shortcut: .b), seed: 4)
    XCTAssertFalse(
      try synflowScore(resnet44, imageShape: [3, 32, 32], scaling: .fixed(inputExponent: 0, gradientExponent: 0)).isFinite)
    let automatic = try synflowScore(resnet44, imageShape: [3, 32, 32])
    XCTAssertTrue(automatic.isFinite && automatic > 1e38, "\(automatic)")
    assertRelativelyClose(
      try synflowScore(resnet44, imageShape: [3, 32, 32], scaling: .fixed(inputExponent: -80, gradientExponent: -100)),
      automatic, rel: 1e-5)

    // log-synflow takes the log of the unscaled gradient, so it is scale-free as well.
    let plainLog = try synflowSaliency(resnet20, imageShape: [3, 32, 32], scaling: .fixed(inputExponent: 0, gradientExponent: 0)).logSynflow
    assertRelativelyClose(
      try synflowSaliency(resnet20, imageShape: [3, 32, 32], scaling: .fixed(inputExponent: -30, gradientExponent: -20)).logSynflow,
      plainLog, rel: 1e-5)
    assertRelativelyClose(
      try synflowSaliency(resnet44, imageShape: [3, 32, 32]).logSynflow,
      try synflowSaliency(resnet44, imageShape: [3, 32, 32], scaling: .fixed(inputExponent: -80, gradientExponent: -100)).logSynflow,
      rel: 1e-5)
  }

  /// Weights blown up so that the all-ones pass overflows Float: without the convolution
  /// bias the network is positively homogeneous and the rescaled score matches the Double
  /// computation; with it, rescaling would change the function, and the score is NaN.
  func testSynflowRescalingNeedsAHomogeneousNetwork() throws {
    let net = TinyConvNet(seed: 15)
    for i in 0..<net.conv1.weight.count { net.conv1.weight.storage[i] *= 0x1p50 }
    for i in 0..<net.conv2.weight.count { net.conv2.weight.storage[i] *= 0x1p50 }
    for i in 0..<net.fc.weight.count { net.fc.weight.storage[i] *= 0x1p40 }
    XCTAssertTrue(try synflowScore(net, imageShape: [2, 4, 4]).isNaN)

    net.conv1.bias = Tensor(zeros: [3])
    var positive = NaiveTinyNet(net)
    for path: WritableKeyPath<NaiveTinyNet, [Double]> in [\.w1, \.b1, \.w2, \.fcW, \.fcB] {
      positive[keyPath: path] = positive[keyPath: path].map(abs)
    }
    let ones = [Double](repeating: 1, count: 32)
    var expected = 0.0
    for path: WritableKeyPath<NaiveTinyNet, [Double]> in [\.w1, \.w2, \.fcW] {
      // R is linear in each layer's weights here, so any step is exact up to rounding.
      let g = numericGradient(positive[keyPath: path], step: { 1e-3 * abs($0) + 1e-30 }) { w in
        var perturbed = positive
        perturbed[keyPath: path] = w
        return perturbed.logits(ones, batch: 1, norm: .bypass).reduce(0, +)
      }
      expected += zip(g, positive[keyPath: path]).map { abs($0 * $1) }.reduce(0, +)
    }
    XCTAssertGreaterThan(expected, 0x1p128)
    assertRelativelyClose(try synflowScore(net, imageShape: [2, 4, 4]), expected, rel: 1e-5)
  }

  /// Through the candidate scorer: every proxy present, bit-identical on repeat, and the
  /// student's state dict (running statistics included) bit-identical afterwards, with
  /// every gradient buffer zero.
  func testScorerIsDeterministicAndLeavesTheModelUnchanged() throws {
    var rng = SeededGenerator(seed: 21)
    let probe = try ProbeBatch.gaussian(batch: 6, shape: [3, 16, 16], classCount: 10, seed: 21)
    let teacher = randomResNet(ResNetDescription(blocksPerStage: [1, 1, 1], widths: [8, 16, 16], shortcut: .b), seed: 1)
    let student = randomResNet(ResNetDescription(blocksPerStage: [2, 1, 1], widths: [4, 8, 12], shortcut: .b), seed: 2)
    student.visitState(prefix: "") { name, kind, t in
      guard kind == .buffer || name.contains("bn") else { return }
      t = .uniform(t.shape, low: 0.5, high: 1.5, using: &rng)
    }
    func bits(_ model: Layer) -> [[UInt32]] { model.stateDict().map { $0.tensor.storage.map(\.bitPattern) } }
    let before = bits(student)
    let proxies = gradientProxies + [.diswot, .nwot]
    let scorer = try CandidateScorer(teacher: teacher, probe: probe, proxies: proxies)
    let first = try scorer.score(student).scores
    XCTAssertEqual(bits(student), before)
    student.visitParameters(prefix: "") { name, _, g in
      XCTAssertTrue(g.storage.allSatisfy { $0 == 0 }, "gradient of \(name) left non-zero")
    }
    let second = try scorer.score(student).scores
    XCTAssertEqual(Set(first.keys), Set(proxies.map(\.rawValue)))
    for (name, value) in first {
      XCTAssertTrue(value.isFinite, "\(name) = \(value)")
      XCTAssertEqual(value.bitPattern, second[name]!.bitPattern, name)
    }
    XCTAssertEqual(bits(student), before)
  }

  /// One shared forward pass serves the loss's and the Jacobian's backward passes: each
  /// proxy is bit-identical whether computed alone or with the others (Fisher must not
  /// count the Jacobian's backward pass, the Jacobian must not see the loss's gradients;
  /// alone, jacob_cov's and fisher's record skips the parameter gradients, together with
  /// grad_norm and snip it computes them).
  func testProxiesAgreeAloneAndTogether() throws {
    let net = TinyConvNet(seed: 16)
    let x = images()
    let together = try gradientProxyScores(gradientProxies.reversed(), model: net, images: x, labels: labels)
    for proxy in gradientProxies {
      let alone = try gradientProxyScores([proxy], model: net, images: x, labels: labels)
      XCTAssertEqual(alone[proxy]!.bitPattern, together[proxy]!.bitPattern, "\(proxy)")
    }
  }

  /// The candidate scorer's own forward pass (with NASWOT's and MeCo's observers, for the
  /// DisWOT terms) records for the gradient proxies' backward passes, and Zen's forward
  /// passes come after them: every gradient proxy is bit-identical to computing it alone.
  func testScorersSharedForwardGivesTheProxiesComputedAlone() throws {
    let probe = try ProbeBatch.gaussian(batch: 6, shape: [3, 16, 16], classCount: 10, seed: 22)
    let teacher = randomResNet(ResNetDescription(blocksPerStage: [1, 1, 1], widths: [8, 16, 16], shortcut: .b), seed: 3)
    let student = randomResNet(ResNetDescription(blocksPerStage: [2, 1, 1], widths: [4, 8, 12], shortcut: .b), seed: 4)
    let scorer = try CandidateScorer(teacher: teacher, probe: probe, proxies: gradientProxies + [.relation, .meco, .nwot, .zen])
    let shared = try scorer.score(student).scores
    let alone = try gradientProxyScores(gradientProxies, model: student, images: probe.images, labels: probe.labels)
    for proxy in gradientProxies {
      XCTAssertEqual(shared[proxy.rawValue]!.bitPattern, alone[proxy]!.bitPattern, "\(proxy)")
    }
  }

  func testResNet20GivesFiniteValues() throws {
    let model = randomResNet(try ModelZoo.description(named: "resnet20"), seed: 7)
    var rng = SeededGenerator(seed: 8)
    let x = Tensor.normal([8, 3, 32, 32], using: &rng)
    let scores = try gradientProxyScores(gradientProxies, model: model, images: x, labels: [0, 1, 2, 3, 4, 5, 6, 7])
    XCTAssertEqual(Set(scores.keys), Set(gradientProxies))
    for (proxy, value) in scores {
      XCTAssertTrue(value.isFinite, "\(proxy) = \(value)")
      if proxy != .jacobCov { XCTAssertGreaterThan(value, 0, "\(proxy)") }
    }
  }

  func testRejectsBadInputs() throws {
    let net = TinyConvNet(seed: 1)
    XCTAssertThrowsError(try gradientProxyScores([.snip], model: net, images: images(), labels: [0, 1]))
    XCTAssertThrowsError(try gradientProxyScores([.snip], model: net, images: images(), labels: [0, 1, 4]))
    XCTAssertThrowsError(try synflowScore(net, imageShape: [3, 4, 4]))
    XCTAssertEqual(try gradientProxyScores([.diswot], model: net, images: images(), labels: labels).count, 0)
  }
}
