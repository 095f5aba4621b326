import DiswotTensor
import DiswotTestSupport
import XCTest

/// Backward kernels other than convolution, each against finite differences of its
/// forward pass (L = Σ y·r) and, where the answer is short, against hand-worked values.
final class BackwardKernelTests: XCTestCase {
  private var rng = SeededGenerator(seed: 42)

  private func normal(_ shape: [Int], mean: Float = 0, std: Float = 1) -> Tensor {
    .normal(shape, mean: mean, std: std, using: &rng)
  }

  // MARK: - Batch norm

  func testBatchNormTrainingMatchesFiniteDifferences() throws {
    let x = normal([3, 4, 3, 5], mean: 2, std: 1.5)
    let r = normal(x.shape)
    var state = BatchNormState(channels: 4)
    state.weight = normal([4], mean: 1, std: 0.5)
    state.bias = normal([4])
    func loss(_ x: Tensor, _ state: BatchNormState) throws -> Double {
      var s = state
      return FiniteDifference.dot(
        try batchnorm2d_forward_training(x, state: &s, updateRunningStatistics: false).output, r)
    }
    var scratch = state
    let statistics = try batchnorm2d_forward_training(x, state: &scratch, updateRunningStatistics: false).statistics
    var dWeight = Tensor(zeros: [4]), dBias = Tensor(zeros: [4])
    let dx = try batchnorm2d_backward_training(
      x, dOutput: r, state: state, statistics: statistics, dWeight: &dWeight, dBias: &dBias)

    let xi = FiniteDifference.sample(count: x.count, limit: 60)
    assertGradientClose(dx, try FiniteDifference.gradient(of: { try loss($0, state) }, at: x, indices: xi, epsilon: 1e-2), at: xi, "dx")
    let all = Array(0..<4)
    let dW = try FiniteDifference.gradient(
      of: { w in var s = state; s.weight = w; return try loss(x, s) }, at: state.weight, indices: all, epsilon: 1e-2)
    assertGradientClose(dWeight, dW, at: all, "dWeight")
    let dB = try FiniteDifference.gradient(
      of: { b in var s = state; s.bias = b; return try loss(x, s) }, at: state.bias, indices: all, epsilon: 1e-2)
    assertGradientClose(dBias, dB, at: all, "dBias")
  }

  /// Gradients of training-mode batch norm sum to zero over each channel (the mean is
  /// subtracted) and are orthogonal to x̂ (the scale is divided out): checked exactly on a
  /// channel whose values all shift by a constant.
  func testBatchNormTrainingInputGradientIsShiftInvariant() throws {
    let x = normal([4, 2, 3, 3], mean: 100, std: 0.5)  // a large mean must not cancel
    let r = normal(x.shape)
    var state = BatchNormState(channels: 2)
    let statistics = try batchnorm2d_forward_training(x, state: &state, updateRunningStatistics: false).statistics
    var dWeight = Tensor(zeros: [2]), dBias = Tensor(zeros: [2])
    let dx = try batchnorm2d_backward_training(
      x, dOutput: r, state: state, statistics: statistics, dWeight: &dWeight, dBias: &dBias)
    for ch in 0..<2 {
      var total = 0.0, scale = 0.0
      for n in 0..<4 {
        for i in 0..<9 {
          total += Double(dx.storage[(n * 2 + ch) * 9 + i])
          scale += abs(Double(dx.storage[(n * 2 + ch) * 9 + i]))
        }
      }
      XCTAssertEqual(total, 0, accuracy: 1e-4 * scale, "channel \(ch)")
    }
  }

  func testBatchNormInferenceMatchesFiniteDifferences() throws {
    let x = normal([2, 3, 4, 4])
    let r = normal(x.shape)
    var state = BatchNormState(channels: 3)
    state.weight = normal([3], mean: 1, std: 0.5)
    state.bias = normal([3])
    state.runningMean = normal([3])
    state.runningVar = tensor([3], [0.5, 1, 2])
    func loss(_ x: Tensor, _ s: BatchNormState) throws -> Double {
      FiniteDifference.dot(try batchnorm2d_forward_inference(x, state: s), r)
    }
    var dWeight = Tensor(zeros: [3]), dBias = Tensor(zeros: [3])
    let dx = try batchnorm2d_backward_inference(x, dOutput: r, state: state, dWeight: &dWeight, dBias: &dBias)
    let xi = FiniteDifference.sample(count: x.count, limit: 40)
    assertGradientClose(dx, try FiniteDifference.gradient(of: { try loss($0, state) }, at: x, indices: xi, epsilon: 1e-2), at: xi, "dx")
    let all = Array(0..<3)
    assertGradientClose(
      dWeight, try FiniteDifference.gradient(
        of: { w in var s = state; s.weight = w; return try loss(x, s) }, at: state.weight, indices: all, epsilon: 1e-2),
      at: all, "dWeight")
    assertGradientClose(
      dBias, try FiniteDifference.gradient(
        of: { b in var s = state; s.bias = b; return try loss(x, s) }, at: state.bias, indices: all, epsilon: 1e-2),
      at: all, "dBias")
  }

  func testBatchNormGradientsAccumulateAndCheckShapes() throws {
    let x = normal([2, 2, 3, 3])
    let r = normal(x.shape)
    var state = BatchNormState(channels: 2)
    let statistics = try batchnorm2d_forward_training(x, state: &state, updateRunningStatistics: false).statistics
    var dWeight = Tensor(zeros: [2]), dBias = Tensor(zeros: [2])
    _ = try batchnorm2d_backward_training(x, dOutput: r, state: state, statistics: statistics, dWeight: &dWeight, dBias: &dBias)
    let (w1, b1) = (dWeight, dBias)
    _ = try batchnorm2d_backward_training(x, dOutput: r, state: state, statistics: statistics, dWeight: &dWeight, dBias: &dBias)
    assertClose(dWeight.storage, w1.storage.map { 2 * $0 })
    assertClose(dBias.storage, b1.storage.map { 2 * $0 })

    XCTAssertThrowsError(try batchnorm2d_backward_training(
      x, dOutput: Tensor(zeros: [2, 2, 3, 2]), state: state, statistics: statistics, dWeight: &dWeight, dBias: &dBias))
    var short = Tensor(zeros: [3])
    XCTAssertThrowsError(try batchnorm2d_backward_training(
      x, dOutput: r, state: state, statistics: statistics, dWeight: &short, dBias: &dBias))
    XCTAssertThrowsError(try batchnorm2d_backward_inference(
      Tensor(zeros: [2, 3, 3, 3]), dOutput: Tensor(zeros: [2, 3, 3, 3]), state: state, dWeight: &dWeight, dBias: &dBias))
  }

  /// Without parameter gradients both batch-norm modes and the linear layer give the very
  /// same dx and leave the parameter gradients as they were.
  func testSkippingParameterGradientsKeepsDxAndLeavesThemUntouched() throws {
    let x = normal([2, 3, 4, 4]), r = normal(x.shape)
    var state = BatchNormState(channels: 3)
    state.weight = normal([3], mean: 1, std: 0.5)
    state.runningVar = tensor([3], [0.5, 1, 2])
    let statistics = try batchnorm2d_forward_training(x, state: &state, updateRunningStatistics: false).statistics
    var dWeight = Tensor(zeros: [3]), dBias = Tensor(zeros: [3])
    var keptWeight = Tensor(zeros: [3], value: 7), keptBias = Tensor(zeros: [3], value: 7)
    XCTAssertEqual(
      try batchnorm2d_backward_training(
        x, dOutput: r, state: state, statistics: statistics, dWeight: &keptWeight, dBias: &keptBias,
        computeParameterGradients: false).storage,
      try batchnorm2d_backward_training(
        x, dOutput: r, state: state, statistics: statistics, dWeight: &dWeight, dBias: &dBias).storage)
    XCTAssertEqual(
      try batchnorm2d_backward_inference(
        x, dOutput: r, state: state, dWeight: &keptWeight, dBias: &keptBias, computeParameterGradients: false).storage,
      try batchnorm2d_backward_inference(x, dOutput: r, state: state, dWeight: &dWeight, dBias: &dBias).storage)
    XCTAssertEqual(keptWeight.storage, [7, 7, 7])
    XCTAssertEqual(keptBias.storage, [7, 7, 7])

    let input = normal([4, 5]), w = normal([3, 5]), dy = normal([4, 3])
    var linearWeight = Tensor(zeros: w.shape), linearBias: Tensor? = Tensor(zeros: [3])
    var keptLinearWeight = Tensor(zeros: w.shape, value: 7), keptLinearBias: Tensor? = Tensor(zeros: [3], value: 7)
    XCTAssertEqual(
      try linear_backward(
        input, weight: w, dOutput: dy, dWeight: &keptLinearWeight, dBias: &keptLinearBias,
        computeParameterGradients: false)?.storage,
      try linear_backward(input, weight: w, dOutput: dy, dWeight: &linearWeight, dBias: &linearBias)?.storage)
    XCTAssertTrue(keptLinearWeight.storage.allSatisfy { $0 == 7 })
    XCTAssertEqual(keptLinearBias?.storage, [7, 7, 7])
  }

  // MARK: - Activations

  func testReLUBackwardMasksByOutput() throws {
    var dy = tensor([5], [1, 2, 3, 4, 5])
    try relu_backward(output: tensor([5], [0, 0.5, 0, 7, 1e-30]), dOutput: &dy)
    XCTAssertEqual(dy.storage, [0, 2, 0, 4, 5])
    var dy6 = tensor([5], [1, 2, 3, 4, 5])
    try relu6_backward(output: tensor([5], [0, 0.5, 6, 5.999, 3]), dOutput: &dy6)
    XCTAssertEqual(dy6.storage, [0, 2, 0, 4, 5])
    XCTAssertThrowsError(try relu_backward(output: Tensor(zeros: [4]), dOutput: &dy))
  }

  /// Inputs kept at least 0.05 away from the kinks at 0 and 6, so ε = 1e-2 never crosses one.
  func testActivationsMatchFiniteDifferences() throws {
    var x = normal([2, 3, 4, 4], std: 4)
    for i in 0..<x.count where abs(x.storage[i]) < 0.05 || abs(x.storage[i] - 6) < 0.05 { x.storage[i] += 0.2 }
    let r = normal(x.shape)
    for (name, forward, backward) in [
      ("relu", relu_forward, relu_backward),
      ("relu6", relu6_forward, relu6_backward),
    ] as [(String, (inout Tensor) -> Void, (Tensor, inout Tensor) throws(TensorError) -> Void)] {
      var y = x
      forward(&y)
      var dx = r
      try backward(y, &dx)
      let numeric = FiniteDifference.gradient(
        of: { var y = $0; forward(&y); return FiniteDifference.dot(y, r) }, at: x, indices: Array(0..<x.count),
        epsilon: 1e-2)
      assertGradientClose(dx, numeric, at: Array(0..<x.count), name)
    }
  }

  // MARK: - Pooling

  /// Ties go to the first maximum in the window; overlapping windows add up.
  /// Plane [[1, 3, 3], [0, 3, 2], [1, 1, 1]], 2x2 windows with stride 1: every window's
  /// maximum is 3 and the first 3 of each window is at (0,1), (0,1), (1,1), (1,1).
  func testMaxPoolIndicesAndBackwardByHand() throws {
    let x = tensor([1, 1, 3, 3], [1, 3, 3, 0, 3, 2, 1, 1, 1])
    let g = Pool2dGeometry(kernel: 2, stride: 1)
    let (y, indices) = try maxpool2d_forward_with_indices(x, geometry: g)
    XCTAssertEqual(y, try maxpool2d_forward(x, geometry: g))
    XCTAssertEqual(indices, [1, 1, 4, 4])
    let dx = try maxpool2d_backward(tensor([1, 1, 2, 2], [1, 10, 100, 1000]), indices: indices, inputShape: x.shape)
    XCTAssertEqual(dx.storage, [0, 11, 0, 0, 1100, 0, 0, 0, 0])
    XCTAssertThrowsError(try maxpool2d_backward(Tensor(zeros: [1, 1, 2, 2]), indices: [0, 1, 2], inputShape: x.shape))
    XCTAssertThrowsError(try maxpool2d_backward(Tensor(zeros: [1, 1, 2, 2]), indices: [0, 1, 2, 9], inputShape: x.shape))
  }

  /// Distinct values (a shuffled ramp) so that ε never changes which position wins.
  func testMaxPoolMatchesFiniteDifferences() throws {
    let count = 2 * 3 * 7 * 6
    var values = (0..<count).map { Float($0) * 0.1 }
    values.shuffle(using: &rng)
    let x = tensor([2, 3, 7, 6], values)
    let r = normal([2, 3, 4, 3])
    let g = Pool2dGeometry(kernel: 3, stride: 2, padding: 1)
    let (y, indices) = try maxpool2d_forward_with_indices(x, geometry: g)
    XCTAssertEqual(y.shape, r.shape)
    let dx = try maxpool2d_backward(r, indices: indices, inputShape: x.shape)
    let numeric = try FiniteDifference.gradient(
      of: { FiniteDifference.dot(try maxpool2d_forward($0, geometry: g), r) }, at: x, indices: Array(0..<count),
      epsilon: 1e-2)
    assertGradientClose(dx, numeric, at: Array(0..<count))
  }

  func testAveragePoolingMatchesFiniteDifferences() throws {
    let x = normal([2, 2, 7, 6])
    for (g, includePad) in [
      (Pool2dGeometry(kernel: 3, stride: 1, padding: 1), false),  // NAS-Bench-201's avg_pool_3x3
      (Pool2dGeometry(kernel: 3, stride: 1, padding: 1), true),
      (Pool2dGeometry(kernel: 3, stride: 2, padding: 1), false),
      (Pool2dGeometry(kernel: 2, stride: 2), true),  // the reduction block's downsample
    ] {
      let y = try avgpool2d_forward(x, geometry: g, countIncludePad: includePad)
      let r = normal(y.shape)
      let dx = try avgpool2d_backward(r, inputShape: x.shape, geometry: g, countIncludePad: includePad)
      let all = Array(0..<x.count)
      let numeric = try FiniteDifference.gradient(
        of: { FiniteDifference.dot(try avgpool2d_forward($0, geometry: g, countIncludePad: includePad), r) },
        at: x, indices: all, epsilon: 1e-2)
      assertGradientClose(dx, numeric, at: all, abs: 1e-4, "\(g) countIncludePad \(includePad)")
    }
    XCTAssertThrowsError(try avgpool2d_backward(
      Tensor(zeros: [2, 2, 3, 2]), inputShape: x.shape, geometry: Pool2dGeometry(kernel: 2, stride: 2)))
  }

  func testGlobalAveragePoolBackward() throws {
    let dx = try global_avgpool_backward(tensor([1, 2], [4, -8]), inputShape: [1, 2, 2, 2])
    XCTAssertEqual(dx.storage, [1, 1, 1, 1, -2, -2, -2, -2])
    let x = normal([3, 2, 3, 5])
    let r = normal([3, 2])
    let all = Array(0..<x.count)
    let numeric = try FiniteDifference.gradient(
      of: { FiniteDifference.dot(try global_avgpool_forward($0), r) }, at: x, indices: all, epsilon: 1e-2)
    assertGradientClose(try global_avgpool_backward(r, inputShape: x.shape), numeric, at: all, abs: 1e-4)
    XCTAssertThrowsError(try global_avgpool_backward(r, inputShape: [3, 3, 3, 5]))
  }

  // MARK: - Linear, concatenation, option-A shortcut

  func testLinearMatchesFiniteDifferences() throws {
    let x = normal([4, 5]), w = normal([3, 5]), b = normal([3]), r = normal([4, 3])
    func loss(_ x: Tensor, _ w: Tensor, _ b: Tensor) throws -> Double {
      FiniteDifference.dot(try linear_forward(x, weight: w, bias: b), r)
    }
    var dWeight = Tensor(zeros: w.shape)
    var dBias: Tensor? = Tensor(zeros: b.shape)
    let dx = try XCTUnwrap(try linear_backward(x, weight: w, dOutput: r, dWeight: &dWeight, dBias: &dBias))
    assertGradientClose(
      dx, try FiniteDifference.gradient(of: { try loss($0, w, b) }, at: x, indices: Array(0..<20), epsilon: 1e-2),
      at: Array(0..<20), "dx")
    assertGradientClose(
      dWeight, try FiniteDifference.gradient(of: { try loss(x, $0, b) }, at: w, indices: Array(0..<15), epsilon: 1e-2),
      at: Array(0..<15), "dWeight")
    assertGradientClose(
      dBias!, try FiniteDifference.gradient(of: { try loss(x, w, $0) }, at: b, indices: Array(0..<3), epsilon: 1e-2),
      at: Array(0..<3), "dBias")

    // A second call adds to the parameter gradients and may skip dx.
    let (w1, b1) = (dWeight, dBias!)
    XCTAssertNil(try linear_backward(x, weight: w, dOutput: r, dWeight: &dWeight, dBias: &dBias, computeInputGradient: false))
    assertClose(dWeight.storage, w1.storage.map { 2 * $0 })
    assertClose(dBias!.storage, b1.storage.map { 2 * $0 })
    XCTAssertThrowsError(try linear_backward(x, weight: w, dOutput: normal([4, 2]), dWeight: &dWeight, dBias: &dBias))
  }

  func testConcatBackwardSplitsChannels() throws {
    let dy = tensor([2, 3, 1, 2], [1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12])
    let parts = try concat_channels_backward(dy, channels: [1, 2])
    XCTAssertEqual(parts.map(\.shape), [[2, 1, 1, 2], [2, 2, 1, 2]])
    XCTAssertEqual(parts[0].storage, [1, 2, 3, 4])
    XCTAssertEqual(parts[1].storage, [5, 6, 7, 8, 9, 10, 11, 12])
    XCTAssertThrowsError(try concat_channels_backward(dy, channels: [1, 1]))

    let p = normal([2, 2, 3, 3]), q = normal([2, 3, 3, 3])
    let r = normal([2, 5, 3, 3])
    let grads = try concat_channels_backward(r, channels: [2, 3])
    for (which, t) in [p, q].enumerated() {
      let all = Array(0..<t.count)
      let numeric = try FiniteDifference.gradient(
        of: { FiniteDifference.dot(try concat_channels_forward(which == 0 ? [$0, q] : [p, $0]), r) },
        at: t, indices: all, epsilon: 1e-2)
      assertGradientClose(grads[which], numeric, at: all, abs: 1e-4, "input \(which)")
    }
  }

  /// 2 channels of 3x3 → 4 channels of 2x2 (stride 2): only the middle output channels
  /// reach the input, at even rows and columns.
  func testOptionAShortcutBackward() throws {
    let dy = tensor([1, 4, 2, 2], (1...16).map(Float.init))
    let dx = try shortcut_a_backward(dy, inputShape: [1, 2, 3, 3], stride: 2)
    XCTAssertEqual(dx.storage, [5, 0, 6, 0, 0, 0, 7, 0, 8,
                                9, 0, 10, 0, 0, 0, 11, 0, 12])
    XCTAssertThrowsError(try shortcut_a_backward(dy, inputShape: [1, 3, 3, 3], stride: 2))

    let x = normal([2, 2, 5, 4])
    let r = normal([2, 6, 3, 2])
    let all = Array(0..<x.count)
    let numeric = try FiniteDifference.gradient(
      of: { FiniteDifference.dot(try shortcut_a_forward($0, outChannels: 6, stride: 2), r) }, at: x, indices: all,
      epsilon: 1e-2)
    assertGradientClose(try shortcut_a_backward(r, inputShape: x.shape, stride: 2), numeric, at: all, abs: 1e-4)
  }
}
