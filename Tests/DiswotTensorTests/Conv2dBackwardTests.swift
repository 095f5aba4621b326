import DiswotTensor
import DiswotTestSupport
import XCTest

/// `conv2d_backward` against the naive reference and against finite differences.
final class Conv2dBackwardTests: XCTestCase {
  override func setUp() { Parallel.configure(threads: Parallel.defaultThreads) }
  override func tearDown() { Parallel.configure(threads: Parallel.defaultThreads) }

  /// A convolution problem: batch, image extents, geometry.
  struct Case: CustomStringConvertible {
    var n, h, w: Int
    var geometry: Conv2dGeometry

    init(n: Int, c: Int, o: Int, h: Int, w: Int, k: Int, stride: Int = 1, pad: Int = 0, groups: Int = 1) {
      self.init(n: n, h: h, w: w, geometry: Conv2dGeometry(
        inChannels: c, outChannels: o, kernel: k, stride: stride, padding: pad, groups: groups))
    }

    init(n: Int, h: Int, w: Int, geometry: Conv2dGeometry) {
      (self.n, self.h, self.w, self.geometry) = (n, h, w, geometry)
    }

    var description: String { "[\(n), \(h)x\(w)] \(geometry)" }

    /// Input, weight, bias and output gradient, N(0, 1) entries, reproducible per seed.
    func operands(seed: UInt64) throws -> (x: Tensor, weight: Tensor, bias: Tensor, dy: Tensor) {
      var rng = SeededGenerator(seed: seed)
      let x = Tensor.normal([n, geometry.inChannels, h, w], using: &rng)
      let weight = Tensor.normal(geometry.weightShape, std: 0.5, using: &rng)
      let bias = Tensor.normal([geometry.outChannels], using: &rng)
      let out = try geometry.outputSize(height: h, width: w)
      let dy = Tensor.normal([n, geometry.outChannels, out.height, out.width], using: &rng)
      return (x, weight, bias, dy)
    }
  }

  /// Every kernel path: Winograd weight gradient (3x3 stride 1, ≥ 8 input channels) and
  /// input gradient (≥ 8 output channels), im2col/col2im (strides, groups, few channels,
  /// 5x5, row blocks), pointwise GEMMs, depthwise direct loops (3x3/5x5, stride 1/2),
  /// odd sizes, padding 0, 1 and 2.
  static let cases: [Case] = [
    Case(n: 2, c: 8, o: 16, h: 9, w: 7, k: 3, pad: 1),  // dW and dx via Winograd
    Case(n: 3, c: 16, o: 8, h: 8, w: 8, k: 3, pad: 1),  // Winograd, C ≠ O
    Case(n: 2, c: 9, o: 8, h: 7, w: 6, k: 3, pad: 0),  // Winograd with padding 2 for dx
    Case(n: 20, c: 8, o: 8, h: 8, w: 8, k: 3, pad: 1),  // Winograd, several images per unit
    Case(n: 2, c: 8, o: 9, h: 45, w: 37, k: 3, pad: 1),  // Winograd, bands of tile rows
    Case(n: 2, c: 20, o: 33, h: 6, w: 10, k: 3, pad: 1),  // channels not a multiple of 8
    Case(n: 2, c: 9, o: 4, h: 5, w: 6, k: 3, pad: 2),  // dW Winograd, dx col2im (O < 8)
    Case(n: 2, c: 8, o: 8, h: 1, w: 1, k: 3, pad: 1),  // one pixel
    Case(n: 2, c: 3, o: 4, h: 7, w: 5, k: 3, pad: 1),  // stem-like: col2im
    Case(n: 3, c: 4, o: 6, h: 9, w: 7, k: 3, stride: 2, pad: 1),
    Case(n: 2, c: 8, o: 16, h: 8, w: 8, k: 3, stride: 2, pad: 1),
    Case(n: 1, c: 4, o: 4, h: 10, w: 11, k: 3, stride: 2, pad: 0),
    Case(n: 2, c: 4, o: 6, h: 7, w: 5, k: 3, pad: 1, groups: 2),
    Case(n: 2, c: 6, o: 9, h: 8, w: 8, k: 3, stride: 2, pad: 1, groups: 3),
    Case(n: 3, c: 8, o: 12, h: 5, w: 5, k: 1),  // pointwise
    Case(n: 2, c: 8, o: 4, h: 6, w: 6, k: 1, groups: 2),  // grouped pointwise
    Case(n: 1, c: 64, o: 8, h: 70, w: 30, k: 1),  // pointwise in row blocks
    Case(n: 1, c: 16, o: 8, h: 64, w: 64, k: 3, stride: 2, pad: 1),  // im2col row blocks
    Case(n: 2, c: 8, o: 4, h: 7, w: 6, k: 1, stride: 2),
    Case(n: 2, c: 3, o: 4, h: 11, w: 9, k: 5, pad: 2),
    Case(n: 2, c: 6, o: 6, h: 9, w: 7, k: 3, pad: 1, groups: 6),  // depthwise 3x3 s1
    Case(n: 3, c: 5, o: 5, h: 13, w: 11, k: 3, stride: 2, pad: 1, groups: 5),  // depthwise s2
    Case(n: 2, c: 4, o: 4, h: 9, w: 12, k: 5, pad: 2, groups: 4),  // depthwise 5x5 s1
    Case(n: 1, c: 6, o: 6, h: 13, w: 11, k: 5, stride: 2, pad: 2, groups: 6),  // depthwise 5x5 s2
    Case(n: 2, c: 3, o: 3, h: 4, w: 5, k: 3, groups: 3),  // depthwise, no padding
  ]

  func testMatchesReferenceOnEveryKernelPath() throws {
    var nonSquare = Conv2dGeometry(inChannels: 3, outChannels: 5, kernel: 1)
    (nonSquare.kernelH, nonSquare.kernelW, nonSquare.strideH, nonSquare.strideW, nonSquare.padH, nonSquare.padW) =
      (3, 2, 1, 2, 1, 0)
    for c in Self.cases + [Case(n: 2, h: 7, w: 9, geometry: nonSquare)] {
      let (x, w, b, dy) = try c.operands(seed: 3)
      let reference = try conv2d_backward_reference(x, weight: w, dOutput: dy, geometry: c.geometry)
      var dWeight = Tensor(zeros: w.shape)
      var dBias: Tensor? = Tensor(zeros: b.shape)
      let dx = try conv2d_backward(x, weight: w, dOutput: dy, geometry: c.geometry, dWeight: &dWeight, dBias: &dBias)
      assertScaledClose(dx ?? Tensor(zeros: []), reference.dInput, "dx \(c)")
      assertScaledClose(dWeight, reference.dWeight, "dWeight \(c)")
      assertScaledClose(dBias!, reference.dBias, "dBias \(c)")
    }
  }

  /// Without parameter gradients (jacob_cov's backward pass) every kernel path gives the
  /// very same dx and leaves dWeight and dBias as they were.
  func testSkippingParameterGradientsKeepsDxAndLeavesThemUntouched() throws {
    for c in Self.cases {
      let (x, w, b, dy) = try c.operands(seed: 4)
      var dWeight = Tensor(zeros: w.shape), dBias: Tensor? = Tensor(zeros: b.shape)
      let full = try conv2d_backward(x, weight: w, dOutput: dy, geometry: c.geometry, dWeight: &dWeight, dBias: &dBias)
      var untouchedWeight = Tensor(zeros: w.shape, value: 7), untouchedBias: Tensor? = Tensor(zeros: b.shape, value: 7)
      let inputOnly = try conv2d_backward(
        x, weight: w, dOutput: dy, geometry: c.geometry, dWeight: &untouchedWeight, dBias: &untouchedBias,
        computeParameterGradients: false)
      XCTAssertEqual(inputOnly?.storage, full?.storage, "dx \(c)")
      XCTAssertTrue(untouchedWeight.storage.allSatisfy { $0 == 7 }, "dWeight \(c)")
      XCTAssertTrue(untouchedBias!.storage.allSatisfy { $0 == 7 }, "dBias \(c)")
    }
  }

  /// The reference itself against finite differences of the reference forward pass
  /// (accurate in Double), on stride, groups and depthwise geometries.
  func testReferenceMatchesFiniteDifferences() throws {
    for c in [Self.cases[9], Self.cases[12], Self.cases[21], Case(n: 2, c: 3, o: 2, h: 5, w: 4, k: 3, pad: 1)] {
      let (x, w, b, r) = try c.operands(seed: 5)
      let g = c.geometry
      func loss(_ x: Tensor, _ w: Tensor, _ b: Tensor) throws -> Double {
        FiniteDifference.dot(try conv2d_forward_reference(x, weight: w, bias: b, geometry: g), r)
      }
      let reference = try conv2d_backward_reference(x, weight: w, dOutput: r, geometry: g)
      let xi = FiniteDifference.sample(count: x.count, limit: 40)
      assertGradientClose(
        reference.dInput, try FiniteDifference.gradient(of: { try loss($0, w, b) }, at: x, indices: xi, epsilon: 1e-2),
        at: xi, "dx \(c)")
      let wi = FiniteDifference.sample(count: w.count, limit: 40)
      assertGradientClose(
        reference.dWeight, try FiniteDifference.gradient(of: { try loss(x, $0, b) }, at: w, indices: wi, epsilon: 1e-2),
        at: wi, "dWeight \(c)")
      let bi = Array(0..<b.count)
      assertGradientClose(
        reference.dBias, try FiniteDifference.gradient(of: { try loss(x, w, $0) }, at: b, indices: bi, epsilon: 1e-2),
        at: bi, "dBias \(c)")
    }
  }

  /// The fast kernel against finite differences directly, on a Winograd-path case.
  func testFastKernelMatchesFiniteDifferences() throws {
    let c = Self.cases[0]
    let (x, w, _, r) = try c.operands(seed: 9)
    var dWeight = Tensor(zeros: w.shape)
    var noBias: Tensor? = nil
    let dx = try XCTUnwrap(
      try conv2d_backward(x, weight: w, dOutput: r, geometry: c.geometry, dWeight: &dWeight, dBias: &noBias))
    let xi = FiniteDifference.sample(count: x.count, limit: 40)
    let numeric = try FiniteDifference.gradient(
      of: { FiniteDifference.dot(try conv2d_forward_reference($0, weight: w, bias: nil, geometry: c.geometry), r) },
      at: x, indices: xi, epsilon: 1e-2)
    assertGradientClose(dx, numeric, at: xi, "dx")
    let wi = FiniteDifference.sample(count: w.count, limit: 40)
    let numericW = try FiniteDifference.gradient(
      of: { FiniteDifference.dot(try conv2d_forward_reference(x, weight: $0, bias: nil, geometry: c.geometry), r) },
      at: w, indices: wi, epsilon: 1e-2)
    assertGradientClose(dWeight, numericW, at: wi, "dWeight")
  }

  /// Parameter gradients add to what the buffers hold; dx is skipped when not wanted.
  func testParameterGradientsAccumulateAndInputGradientIsOptional() throws {
    for c in [Self.cases[0], Self.cases[9], Self.cases[14], Self.cases[21]] {
      let (x, w, b, dy) = try c.operands(seed: 21)
      var once = Tensor(zeros: w.shape)
      var onceBias: Tensor? = Tensor(zeros: b.shape)
      _ = try conv2d_backward(x, weight: w, dOutput: dy, geometry: c.geometry, dWeight: &once, dBias: &onceBias)
      var twice = Tensor(zeros: w.shape)
      var twiceBias: Tensor? = Tensor(zeros: b.shape)
      for _ in 0..<2 {
        let dx = try conv2d_backward(
          x, weight: w, dOutput: dy, geometry: c.geometry, dWeight: &twice, dBias: &twiceBias,
          computeInputGradient: false)
        XCTAssertNil(dx, "\(c)")
      }
      assertClose(twice.storage, once.storage.map { 2 * $0 }, abs: 1e-5, rel: 1e-6, "dWeight \(c)")
      assertClose(twiceBias!.storage, onceBias!.storage.map { 2 * $0 }, abs: 1e-5, rel: 1e-6, "dBias \(c)")
    }
  }

  /// Weight-gradient partial sums are per chunk of images, not per worker.
  func testResultDoesNotDependOnThreadCount() throws {
    for c in [Self.cases[3], Self.cases[4], Self.cases[10], Self.cases[21], Case(n: 11, c: 8, o: 8, h: 6, w: 6, k: 1)] {
      let (x, w, _, dy) = try c.operands(seed: 13)
      func run() throws -> (Tensor?, Tensor) {
        var dWeight = Tensor(zeros: w.shape)
        var noBias: Tensor? = nil
        let dx = try conv2d_backward(x, weight: w, dOutput: dy, geometry: c.geometry, dWeight: &dWeight, dBias: &noBias)
        return (dx, dWeight)
      }
      Parallel.configure(threads: 1)
      let single = try run()
      for threads in [2, 3, 7] {
        Parallel.configure(threads: threads)
        let multi = try run()
        XCTAssertEqual(multi.0, single.0, "dx \(c), \(threads) threads")
        XCTAssertEqual(multi.1, single.1, "dWeight \(c), \(threads) threads")
      }
    }
  }

  func testShapeErrorsThrow() throws {
    let g = Conv2dGeometry(inChannels: 3, outChannels: 4, kernel: 3, padding: 1)
    let x = Tensor(zeros: [2, 3, 6, 6]), w = Tensor(zeros: g.weightShape), dy = Tensor(zeros: [2, 4, 6, 6])
    var dWeight = Tensor(zeros: g.weightShape)
    var dBias: Tensor? = Tensor(zeros: [4])
    XCTAssertNoThrow(try conv2d_backward(x, weight: w, dOutput: dy, geometry: g, dWeight: &dWeight, dBias: &dBias))
    XCTAssertThrowsError(
      try conv2d_backward(x, weight: w, dOutput: Tensor(zeros: [2, 4, 5, 6]), geometry: g, dWeight: &dWeight, dBias: &dBias))
    var wrongWeight = Tensor(zeros: [4, 3, 1, 1])
    XCTAssertThrowsError(try conv2d_backward(x, weight: w, dOutput: dy, geometry: g, dWeight: &wrongWeight, dBias: &dBias))
    var wrongBias: Tensor? = Tensor(zeros: [3])
    XCTAssertThrowsError(try conv2d_backward(x, weight: w, dOutput: dy, geometry: g, dWeight: &dWeight, dBias: &wrongBias))
    XCTAssertThrowsError(try conv2d_backward_reference(x, weight: w, dOutput: Tensor(zeros: [2, 4]), geometry: g))
  }

  /// Max absolute difference within `tolerance` times the largest reference magnitude
  /// (the Winograd input gradient reassociates sums, as in the forward tests).
  private func assertScaledClose(
    _ actual: Tensor, _ expected: Tensor, _ message: String, tolerance: Float = 2e-5,
    file: StaticString = #filePath, line: UInt = #line
  ) {
    guard actual.shape == expected.shape else {
      return XCTFail("\(message): shape \(actual.shape) vs \(expected.shape)", file: file, line: line)
    }
    let scale = max(1, expected.storage.map(abs).max() ?? 0)
    let error = zip(actual.storage, expected.storage).map { abs($0 - $1) }.max() ?? 0
    XCTAssertLessThanOrEqual(
      error, tolerance * scale, "\(message): max error \(error), scale \(scale)", file: file, line: line)
  }
}
