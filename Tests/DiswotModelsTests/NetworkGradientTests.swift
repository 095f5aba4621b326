import DiswotModels
import DiswotTensor
import DiswotTestSupport
import XCTest

/// Whole networks' backward passes against finite differences, and the training contract
/// of `Layer` (parameter visiting, accumulation, zeroing, missing records).
///
/// The loss is L = Σ logits·r + Σ features·r2, so both the logit and the feature-map
/// gradients of `Classifier.backward` are exercised. Batch norm runs in training mode
/// without updating running statistics, so L is one fixed function of input and weights.
/// L is only piecewise smooth (ReLU, ReLU6), so each finite difference also watches every
/// activation through a `ForwardObserver` and avoids steps that flip one
/// (`FiniteDifference.piecewiseDerivatives`).
final class NetworkGradientTests: XCTestCase {
  /// The forward mode L is evaluated in, and the recording one the backward pass follows.
  static var evaluate: ForwardMode { .training(updateRunningStatistics: false) }
  static var record: ForwardMode { .training(updateRunningStatistics: false, recordForBackward: true) }

  // MARK: - Models

  static func resnet(_ shortcut: ShortcutType) throws -> ResNetCIFAR {
    try ResNetCIFAR(ResNetDescription(blocksPerStage: [1, 1], widths: [4, 8], shortcut: shortcut, classCount: 3))
  }

  /// Every operation in one cell: conv 3x3 on 1←0, skip on 2←0, conv 1x1 on 2←1,
  /// average pool on 3←0, none on 3←1, conv 3x3 on 3←2.
  static func nasBench201() throws -> NASBench201Network {
    let genotype = try NASBench201Genotype(ops: [.conv3x3, .skipConnect, .conv1x1, .avgPool3x3, .none, .conv3x3])
    return try NASBench201Network(NASBench201Description(genotype: genotype, channels: 4, cellsPerStage: 1, classCount: 3))
  }

  /// Expansion 1 and 2, depthwise 3x3 stride 2 and 5x5 stride 1, one residual block.
  static func mobileNetV2() throws -> MobileNetV2Network {
    typealias D = MobileNetV2Description
    return try MobileNetV2Network(D(
      stages: [
        D.Stage(blocks: [D.Block(expansion: 1, kernel: 3)], width: 4, stride: 1),
        D.Stage(blocks: [D.Block(expansion: 2, kernel: 3), D.Block(expansion: 2, kernel: 5)], width: 8, stride: 2),
      ],
      stemWidth: 4, stemStride: 1, lastWidth: 12, classCount: 3))
  }

  /// torchvision's layout at small widths: 7×7 stride-2 stem, max pool, projections
  /// where the stride or the width changes (here also in `layer1`: 64 stem channels into
  /// 4 or 8), on 32×32 images.
  static func torchvisionResNet(_ block: ResNetBlockKind) throws -> TorchvisionResNet {
    try TorchvisionResNet(TorchvisionResNetDescription(block: block, blocksPerStage: [2, 1], widths: [4, 8], classCount: 3))
  }

  /// Kaiming weights, then batch-norm and classifier parameters moved off their initial
  /// 1 and 0 so their gradients are checked at a generic point. Batch-norm shifts are
  /// ±(1…2) against scales of 0.4…0.7, so a normalised unit sits well inside the "on" or
  /// the "off" side of the ReLU that follows and finite-difference steps rarely cross a
  /// kink (both sides still occur: channels with a negative shift are mostly off).
  static func prepare(_ model: Layer, seed: UInt64) {
    var rng = SeededGenerator(seed: seed)
    model.initialize(.kaimingNormalFanOut, using: &rng)
    model.visitParameters(prefix: "") { name, value, _ in
      guard value.rank == 1 else { return }
      for i in 0..<value.count {
        let u = rng.nextUniform()
        value.storage[i] = name.hasSuffix("weight") ? 0.4 + 0.3 * u : (i % 2 == 0 ? 1 : -1) * (1 + u)
      }
    }
  }

  // MARK: - Finite differences

  func testResNetOptionAMatchesFiniteDifferences() throws {
    try checkAgainstFiniteDifferences(try Self.resnet(.a), seed: 1)
  }

  func testResNetOptionBMatchesFiniteDifferences() throws {
    try checkAgainstFiniteDifferences(try Self.resnet(.b), seed: 2)
  }

  func testNASBench201MatchesFiniteDifferences() throws {
    try checkAgainstFiniteDifferences(try Self.nasBench201(), seed: 3)
  }

  func testMobileNetV2MatchesFiniteDifferences() throws {
    try checkAgainstFiniteDifferences(try Self.mobileNetV2(), seed: 4)
  }

  /// RepDistiller's ×4 layout in small: a stem narrower than the first stage, whose first
  /// block then projects at stride 1.
  func testResNetWithItsOwnStemMatchesFiniteDifferences() throws {
    try checkAgainstFiniteDifferences(
      try ResNetCIFAR(ResNetDescription(blocksPerStage: [1, 1], widths: [8, 8], shortcut: .b, classCount: 3, stemWidth: 4)),
      seed: 12)
  }

  /// wrn_10_1: an identity block (16 → 16) and two projecting, strided ones, pre-activation.
  func testWideResNetMatchesFiniteDifferences() throws {
    try checkAgainstFiniteDifferences(try WideResNet(WideResNetDescription(depth: 10, widenFactor: 1, classCount: 3)), seed: 13)
  }

  /// vgg8 on 16×16 images: three max pools (to 2×2), convolutions with bias. A step that
  /// changes a pool's winner is a kink (`maxPools`). Its 512-channel layers sum 4608
  /// products per output, so a loss evaluation's Float rounding is several times the
  /// small networks' (steps of 2e-3 give estimates dominated by it): the step is 2e-2 and
  /// the absolute tolerance 8e-3.
  func testVGGMatchesFiniteDifferences() throws {
    try checkAgainstFiniteDifferences(try VGGNetwork(VGGDescription(depth: 8, classCount: 3)), seed: 14, side: 16, maxPools: true, fdEpsilon: 2e-2, absTolerance: 8e-3)
  }

  func testTorchvisionBasicBlockResNetMatchesFiniteDifferences() throws {
    try checkAgainstFiniteDifferences(try Self.torchvisionResNet(.basic), seed: 12, side: 32)
  }

  func testTorchvisionBottleneckResNetMatchesFiniteDifferences() throws {
    try checkAgainstFiniteDifferences(try Self.torchvisionResNet(.bottleneck), seed: 14, side: 32)
  }

  /// Frozen batch norm (running statistics): the inference-mode backward.
  func testInferenceModeBatchNormMatchesFiniteDifferences() throws {
    let model = try Self.resnet(.b)
    Self.prepare(model, seed: 5)
    // Running statistics of one training batch, so normalisation is not the identity.
    var rng = SeededGenerator(seed: 6)
    _ = try model.classify(.normal([8, 3, 8, 8], using: &rng), mode: .training(updateRunningStatistics: true))
    try checkAgainstFiniteDifferences(
      model, seed: 7, evaluate: .inference, record: ForwardMode(batchNorm: .inference, recordsForBackward: true),
      prepared: true)
  }

  /// Compares dL/dx and a sample of every parameter's gradient with central differences.
  /// At most a quarter of the coordinates may be left out for sitting at a kink. The
  /// absolute tolerance, 3e-3, is the Float rounding of a whole forward pass (Winograd
  /// convolutions reassociate sums: ≈ 1e-5 of the activations' scale) divided by 2ε.
  private func checkAgainstFiniteDifferences(
    _ model: Classifier, seed: UInt64, evaluate: ForwardMode = evaluate, record: ForwardMode = record,
    prepared: Bool = false, side: Int = 8, maxPools: Bool = false, fdEpsilon: Float = 1e-2, absTolerance: Double = 3e-3, file: StaticString = #filePath, line: UInt = #line
  ) throws {
    if !prepared { Self.prepare(model, seed: seed) }
    var rng = SeededGenerator(seed: seed + 100)
    let x = Tensor.normal([3, 3, side, side], using: &rng)
    let probe = try model.classify(x, mode: evaluate)
    let r = Tensor.normal(probe.logits.shape, using: &rng)
    let r2 = Tensor.normal(probe.features.shape, std: 0.3, using: &rng)
    func loss(_ x: Tensor) throws -> (value: Double, piece: [Int32]) {
      let pattern = ActivationPattern(
        poolWindows: maxPools, maxPoolAfterStem: model is TorchvisionResNet ? TorchvisionResNet.maxPool : nil)
      var mode = evaluate
      mode.observer = pattern
      let out = try model.classify(x, mode: mode)
      return (FiniteDifference.dot(out.logits, r) + FiniteDifference.dot(out.features, r2), pattern.pattern)
    }

    _ = try model.classify(x, mode: record)
    model.zeroGradients()
    let dx = try XCTUnwrap(try model.backward(dLogits: r, dFeatures: r2, computeInputGradient: true))
    XCTAssertEqual(dx.shape, x.shape, file: file, line: line)
    var gradients: [String: Tensor] = [:]
    model.visitParameters(prefix: "") { name, _, grad in gradients[name] = grad }

    let xi = FiniteDifference.sample(count: x.count, limit: 24, seed: seed)
    var probeX = x
    let numeric = try FiniteDifference.piecewiseDerivatives(
      at: xi, epsilon: fdEpsilon, get: { probeX.storage[$0] }, set: { probeX.storage[$0] = $1 }, loss: { try loss(probeX) })
    assertGradientClose(dx, numeric, at: xi, abs: absTolerance, rel: 2e-2, "dx", file: file, line: line)

    // Three coordinates of every parameter; the kink budget is over all of them together.
    var skipped = 0, probed = 0
    for name in model.parameterNames {
      let grad = try XCTUnwrap(gradients[name], name, file: file, line: line)
      let indices = FiniteDifference.sample(count: grad.count, limit: 3, seed: seed)
      let estimates = try FiniteDifference.piecewiseDerivatives(
        at: indices, epsilon: fdEpsilon, get: { parameter(model, name, $0) },
        set: { setParameter(model, name, $0, $1) }, loss: { try loss(x) })
      skipped += estimates.filter { $0 == nil }.count
      probed += estimates.count
      assertGradientClose(
        grad, estimates, at: indices, abs: absTolerance, rel: 2e-2, maxSkipped: 1, name, file: file, line: line)
    }
    XCTAssertLessThanOrEqual(skipped * 4, probed, "too many parameter coordinates near a kink", file: file, line: line)
  }

  // MARK: - The training contract

  /// Same names, same order as the state dict's parameters; gradients shaped like values
  /// and zero before any backward pass.
  func testVisitParametersFollowsVisitState() throws {
    let models: [Layer] = [
      try ResNetCIFAR(ModelZoo.description(named: "resnet20")),
      try ResNetCIFAR(ModelZoo.description(named: "resnet20", shortcut: .b)),
      try Self.nasBench201(), try Self.mobileNetV2(),
      try WideResNet(WideResNetDescription(depth: 10, widenFactor: 1)), try VGGNetwork(VGGDescription(depth: 8)),
    ]
    for model in models {
      var names: [String] = []
      model.visitParameters(prefix: "net") { name, value, grad in
        names.append(name)
        XCTAssertEqual(grad.shape, value.shape, name)
        XCTAssertTrue(grad.storage.allSatisfy { $0 == 0 }, name)
      }
      XCTAssertEqual(names, model.parameterNames.map { "net." + $0 })
    }
  }

  /// Two backward passes without zeroing double every gradient; `zeroGradients` resets
  /// them in the same buffers.
  func testGradientsAccumulateAndZeroInPlace() throws {
    let model = try Self.resnet(.b)
    Self.prepare(model, seed: 8)
    var rng = SeededGenerator(seed: 9)
    let x = Tensor.normal([2, 3, 8, 8], using: &rng)
    let out = try model.classify(x, mode: Self.record)
    let r = Tensor.normal(out.logits.shape, using: &rng)
    model.zeroGradients()
    _ = try model.backward(dLogits: r)
    let once = model.gradientsByName().mapValues { $0.storage.map { $0 } }  // copies, not shared buffers
    XCTAssertTrue(once.values.contains { $0.contains { $0 != 0 } })
    let buffers = model.gradientAddresses()

    _ = try model.backward(dLogits: r)
    XCTAssertEqual(model.gradientAddresses(), buffers, "backward reuses the gradient buffers")
    for (name, twice) in model.gradientsByName() {
      assertClose(twice.storage, once[name]!.map { 2 * $0 }, abs: 1e-5, rel: 1e-5, name)
    }
    model.zeroGradients()
    XCTAssertEqual(model.gradientAddresses(), buffers, "zeroGradients keeps the buffers")
    for (name, grad) in model.gradientsByName() {
      XCTAssertTrue(grad.storage.allSatisfy { $0 == 0 }, name)
    }
  }

  /// The KD trainer's call: no input gradient, and dFeatures adds to the logits' path.
  func testFeatureGradientAddsToLogitGradient() throws {
    let model = try Self.resnet(.a)
    Self.prepare(model, seed: 10)
    var rng = SeededGenerator(seed: 11)
    let x = Tensor.normal([2, 3, 8, 8], using: &rng)
    let out = try model.classify(x, mode: Self.record)
    let r = Tensor.normal(out.logits.shape, using: &rng)
    let r2 = Tensor.normal(out.features.shape, using: &rng)
    func gradients(_ dLogits: Tensor, _ dFeatures: Tensor?) throws -> [String: Tensor] {
      model.zeroGradients()
      XCTAssertNil(try model.backward(dLogits: dLogits, dFeatures: dFeatures))
      return model.gradientsByName()
    }
    let logitsOnly = try gradients(r, nil)
    let featuresOnly = try gradients(Tensor(zeros: r.shape), r2)
    let both = try gradients(r, r2)
    for (name, g) in both {
      let sum = zip(logitsOnly[name]!.storage, featuresOnly[name]!.storage).map { $0 + $1 }
      assertClose(g.storage, sum, abs: 1e-4, rel: 1e-4, name)
    }
    XCTAssertThrowsError(try model.backward(dLogits: r, dFeatures: Tensor(zeros: [2, 8, 2, 2])))
  }

  /// A record made with `parameterGradients` off (jacob_cov's) gives the same input
  /// gradient as one with them on and leaves every gradient buffer at zero: convolutions
  /// (depthwise and 1×1 included), batch norm and the classifier, in every family with
  /// its own backward pass.
  func testRecordWithoutParameterGradientsGivesTheSameInputGradientAndNoneElse() throws {
    let inputOnly = ForwardMode(
      batchNorm: .training(updateRunningStatistics: false), recordsForBackward: true, parameterGradients: false)
    let models: [(String, any Classifier)] = [
      ("resnet", try Self.resnet(.b)), ("nas-bench-201", try Self.nasBench201()),
      ("mobilenetv2", try Self.mobileNetV2()), ("torchvision", try Self.torchvisionResNet(.bottleneck)),
    ]
    for (name, model) in models {
      Self.prepare(model, seed: 12)
      var rng = SeededGenerator(seed: 13)
      let x = Tensor.normal([2, 3, 32, 32], using: &rng)
      let r = Tensor.normal(try model.classify(x, mode: Self.evaluate).logits.shape, using: &rng)
      model.zeroGradients()
      _ = try model.classify(x, mode: Self.record)
      let full = try XCTUnwrap(try model.backward(dLogits: r, dFeatures: nil, computeInputGradient: true), name)
      XCTAssertTrue(model.gradientsByName().values.contains { $0.storage.contains { $0 != 0 } }, name)
      model.zeroGradients()
      _ = try model.classify(x, mode: inputOnly)
      let dx = try XCTUnwrap(try model.backward(dLogits: r, dFeatures: nil, computeInputGradient: true), name)
      XCTAssertEqual(dx.storage, full.storage, name)
      for (parameter, gradient) in model.gradientsByName() {
        XCTAssertTrue(gradient.storage.allSatisfy { $0 == 0 }, "\(name) \(parameter)")
      }
    }
  }

  func testBackwardWithoutRecordingThrows() throws {
    let model = try Self.resnet(.a)
    let x = Tensor(zeros: [2, 3, 8, 8])
    let dLogits = Tensor(zeros: [2, 3])
    func assertMissingRecord(_ call: () throws -> Void, _ message: String, line: UInt = #line) {
      XCTAssertThrowsError(try call(), message, line: line) { error in
        guard case .invalidArgument(let text) = error as? TensorError else {
          return XCTFail("\(message): expected invalidArgument, got \(error)", line: line)
        }
        XCTAssertTrue(text.contains("record"), text, line: line)
      }
    }
    assertMissingRecord({ _ = try model.backward(dLogits: dLogits) }, "never run")
    _ = try model.classify(x, mode: .training(updateRunningStatistics: false))
    assertMissingRecord({ _ = try model.backward(dLogits: dLogits) }, "scoring pass")
    _ = try model.classify(x, mode: Self.record)
    XCTAssertNoThrow(try model.backward(dLogits: dLogits))
    _ = try model.classify(x, mode: .inference)  // an evaluation pass drops the record
    assertMissingRecord({ _ = try model.backward(dLogits: dLogits) }, "after evaluation")

    let layers: [Layer] = [
      try Conv2d(Conv2dGeometry(inChannels: 1, outChannels: 1, kernel: 1)), BatchNorm2d(channels: 1),
      Linear(inFeatures: 1, outFeatures: 1), try Self.nasBench201(), try Self.mobileNetV2(),
    ]
    for layer in layers {
      assertMissingRecord({ _ = try layer.backward(Tensor(zeros: [1, 1, 1, 1])) }, "\(type(of: layer))")
    }
  }
}

/// Each activation's output reduced to which piece of ReLU6 (and so of ReLU) it is on.
private final class ActivationPattern: ForwardObserver {
  var pattern: [Int32] = []
  /// Also records which element wins each 2×2 window of every activation: where a
  /// network max-pools its ReLU outputs (VGG), a step that changes a winner is a kink too.
  let poolWindows: Bool
  /// The max pool that follows the first activation (torchvision's stem), if any: which
  /// input wins each window is a piece of L too.
  let maxPoolAfterStem: Pool2dGeometry?
  init(poolWindows: Bool = false, maxPoolAfterStem: Pool2dGeometry? = nil) {
    self.poolWindows = poolWindows
    self.maxPoolAfterStem = maxPoolAfterStem
  }
  func observeActivation(_ output: Tensor) {
    if pattern.isEmpty, let g = maxPoolAfterStem { pattern += try! maxpool2d_forward_with_indices(output, geometry: g).indices }
    pattern += output.storage.map { $0 <= 0 ? 0 : $0 >= 6 ? 2 : 1 }
    guard poolWindows, output.rank == 4 else { return }
    let (h, w) = (output.h, output.w)
    for plane in 0..<(output.n * output.c) {
      for y in stride(from: 0, to: h - 1, by: 2) {
        for x in stride(from: 0, to: w - 1, by: 2) {
          let window = [0, 1, w, w + 1].map { output.storage[plane * h * w + y * w + x + $0] }
          pattern.append(Int32(window.indices.max { window[$0] < window[$1] }!))
        }
      }
    }
  }
  func observeBatchNorm(variance: [Float]) {}
}

extension Layer {
  /// Where each gradient buffer's storage lives, in visiting order.
  fileprivate func gradientAddresses() -> [UnsafeRawPointer?] {
    var result: [UnsafeRawPointer?] = []
    visitParameters(prefix: "") { _, _, grad in
      result.append(grad.withUnsafeMutableBufferPointer { UnsafeRawPointer($0.baseAddress) })
    }
    return result
  }

  /// Every parameter gradient by name (sharing storage with the buffers).
  fileprivate func gradientsByName() -> [String: Tensor] {
    var result: [String: Tensor] = [:]
    visitParameters(prefix: "") { name, _, grad in result[name] = grad }
    return result
  }
}

/// Element `index` of the parameter `name`.
private func parameter(_ model: Layer, _ name: String, _ index: Int) -> Float {
  var value: Float = .nan
  model.visitParameters(prefix: "") { n, v, _ in if n == name { value = v.storage[index] } }
  return value
}

/// Writes element `index` of the parameter `name` through `visitParameters`, as an
/// optimiser does (which must reach the next forward pass, cached Winograd kernels included).
private func setParameter(_ model: Layer, _ name: String, _ index: Int, _ value: Float) {
  model.visitParameters(prefix: "") { n, v, _ in if n == name { v.storage[index] = value } }
}
