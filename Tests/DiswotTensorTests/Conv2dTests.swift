import DiswotTensor
import Foundation
import XCTest

final class Conv2dTests: XCTestCase {
  override func setUp() {
    Parallel.configure(threads: Parallel.defaultThreads)
  }

  override func tearDown() {
    Parallel.configure(threads: Parallel.defaultThreads)
  }

  // MARK: - Hand-worked cases

  /// x = [[1 2 3] [4 5 6] [7 8 9]], w = [[1 2] [3 4]], bias 0.5, no padding:
  ///   y00 = 1·1 + 2·2 + 4·3 + 5·4 = 37,  y01 = 2·1 + 3·2 + 5·3 + 6·4 = 47,
  ///   y10 = 4·1 + 5·2 + 7·3 + 8·4 = 67,  y11 = 5·1 + 6·2 + 8·3 + 9·4 = 77, each + 0.5.
  func testHandWorked2x2Kernel() throws {
    let x = try Tensor(shape: [1, 1, 3, 3], storage: [1, 2, 3, 4, 5, 6, 7, 8, 9])
    let w = try Tensor(shape: [1, 1, 2, 2], storage: [1, 2, 3, 4])
    let b = try Tensor(shape: [1], storage: [0.5])
    let g = Conv2dGeometry(inChannels: 1, outChannels: 1, kernel: 2)
    let expected: [Float] = [37.5, 47.5, 67.5, 77.5]
    for result in [
      try conv2d_forward_reference(x, weight: w, bias: b, geometry: g),
      try conv2d_forward(x, weight: w, bias: b, geometry: g),
    ] {
      XCTAssertEqual(result.shape, [1, 1, 2, 2])
      XCTAssertEqual(result.storage, expected)
    }
  }

  /// The same x under an all-ones 3x3 kernel with padding 1: each output is the sum of
  /// its in-image 3x3 neighbourhood, e.g. y00 = 1 + 2 + 4 + 5 = 12, y11 = 1 + … + 9 = 45,
  /// y21 = 4 + 5 + 6 + 7 + 8 + 9 = 39. Checked on the dispatched kernel (im2col: one input
  /// channel) and on the Winograd kernel through pre-transformed weights.
  func testHandWorkedNeighbourhoodSum() throws {
    let x = try Tensor(shape: [1, 1, 3, 3], storage: [1, 2, 3, 4, 5, 6, 7, 8, 9])
    let w = Tensor(zeros: [1, 1, 3, 3], value: 1)
    let g = Conv2dGeometry(inChannels: 1, outChannels: 1, kernel: 3, padding: 1)
    let expected = try Tensor(shape: [1, 1, 3, 3], storage: [12, 21, 16, 27, 45, 33, 24, 39, 28])
    XCTAssertEqual(try conv2d_forward_reference(x, weight: w, bias: nil, geometry: g), expected)
    XCTAssertEqual(try conv2d_forward(x, weight: w, bias: nil, geometry: g), expected)
    let winograd = try conv2d_forward(
      x, winogradWeights: winogradTransformWeights(w, geometry: g), bias: nil, geometry: g)
    assertClose(winograd, expected, "Winograd neighbourhood sum")
  }

  // MARK: - Fast paths against the reference

  func testWinogradGeometries() throws {
    let cases: [Case] = [
      Case(n: 1, c: 3, o: 16, h: 8, w: 8, k: 3, pad: 1, bias: true),  // stem: im2col by default
      Case(n: 3, c: 16, o: 16, h: 12, w: 12, k: 3, pad: 1, bias: false),
      Case(n: 2, c: 5, o: 7, h: 7, w: 5, k: 3, pad: 1, bias: true),  // odd extents, partial tiles
      Case(n: 1, c: 20, o: 33, h: 6, w: 10, k: 3, pad: 1, bias: true),  // channels not /8
      Case(n: 2, c: 8, o: 8, h: 9, w: 9, k: 3, pad: 0, bias: true),
      Case(n: 1, c: 9, o: 4, h: 5, w: 6, k: 3, pad: 2, bias: false),
      Case(n: 20, c: 8, o: 8, h: 8, w: 8, k: 3, pad: 1, bias: true),  // several images per unit
      Case(n: 2, c: 8, o: 5, h: 45, w: 37, k: 3, pad: 1, bias: true),  // bands of tile rows
      Case(n: 1, c: 8, o: 8, h: 6, w: 261, k: 3, pad: 1, bias: false),  // one tile row per unit
      Case(n: 1, c: 2, o: 3, h: 1, w: 1, k: 3, pad: 1, bias: true),  // one pixel
    ]
    for c in cases {
      let expected: Conv2dAlgorithm = c.geometry.inChannels >= 8 ? .winograd : .im2col
      XCTAssertEqual(Conv2dAlgorithm(c.geometry), expected, "\(c)")
      try checkAgainstReference(c)
      // The Winograd kernel itself, whatever conv2d_forward would choose.
      let (x, w, b) = c.operands(seed: 5)
      let reference = try conv2d_forward_reference(x, weight: w, bias: b, geometry: c.geometry)
      let cached = try winogradTransformWeights(w, geometry: c.geometry)
      let winograd = try conv2d_forward(x, winogradWeights: cached, bias: b, geometry: c.geometry)
      assertClose(winograd, reference, "Winograd \(c)")
    }
  }

  func testIm2colGeometries() throws {
    let cases: [Case] = [
      Case(n: 2, c: 4, o: 6, h: 9, w: 7, k: 3, stride: 2, pad: 1, bias: true),
      Case(n: 1, c: 16, o: 32, h: 32, w: 32, k: 3, stride: 2, pad: 1, bias: false),
      Case(n: 1, c: 16, o: 8, h: 64, w: 64, k: 3, stride: 2, pad: 1, bias: true),  // row blocks
      Case(n: 3, c: 8, o: 12, h: 5, w: 5, k: 1, bias: true),  // pointwise: plain GEMM
      Case(n: 1, c: 64, o: 8, h: 70, w: 30, k: 1, bias: true),  // pointwise in row blocks
      Case(n: 1, c: 8, o: 4, h: 7, w: 6, k: 1, stride: 2, bias: false),
      Case(n: 1, c: 3, o: 4, h: 11, w: 9, k: 5, pad: 2, bias: true),
      Case(n: 3, c: 4, o: 6, h: 7, w: 5, k: 3, pad: 1, groups: 2, bias: true),
      Case(n: 1, c: 6, o: 9, h: 8, w: 8, k: 3, stride: 2, groups: 3, bias: false),
      Case(n: 1, c: 4, o: 8, h: 6, w: 6, k: 3, pad: 1, groups: 4, bias: true),  // multiplier 2
    ]
    for c in cases {
      XCTAssertEqual(Conv2dAlgorithm(c.geometry), .im2col, "\(c)")
      try checkAgainstReference(c)
    }

    // Non-square kernel, stride and padding.
    var g = Conv2dGeometry(inChannels: 3, outChannels: 5, kernel: 1)
    (g.kernelH, g.kernelW, g.strideH, g.strideW, g.padH, g.padW) = (3, 2, 1, 2, 1, 0)
    try checkAgainstReference(Case(n: 2, h: 7, w: 9, geometry: g, bias: true))
  }

  func testDepthwiseGeometries() throws {
    let cases: [Case] = [
      Case(n: 1, c: 8, o: 8, h: 10, w: 10, k: 3, pad: 1, groups: 8, bias: true),
      Case(n: 3, c: 6, o: 6, h: 13, w: 11, k: 3, stride: 2, pad: 1, groups: 6, bias: false),
      Case(n: 2, c: 5, o: 5, h: 9, w: 12, k: 5, pad: 2, groups: 5, bias: true),
      Case(n: 1, c: 6, o: 6, h: 13, w: 11, k: 5, stride: 2, pad: 2, groups: 6, bias: true),
      Case(n: 1, c: 3, o: 3, h: 4, w: 4, k: 3, groups: 3, bias: false),
    ]
    for c in cases {
      XCTAssertEqual(Conv2dAlgorithm(c.geometry), .depthwise, "\(c)")
      try checkAgainstReference(c)
    }
  }

  func testCachedWinogradWeightsMatchDirectCall() throws {
    let c = Case(n: 2, c: 8, o: 16, h: 10, w: 10, k: 3, pad: 1, bias: true)
    let (x, w, b) = c.operands(seed: 7)
    let cached = try winogradTransformWeights(w, geometry: c.geometry)
    let viaCache = try conv2d_forward(x, winogradWeights: cached, bias: b, geometry: c.geometry)
    let direct = try conv2d_forward(x, weight: w, bias: b, geometry: c.geometry)
    XCTAssertEqual(viaCache, direct)

    // Cached weights only fit the geometry they were made for.
    var other = c.geometry
    other.inChannels = 16
    XCTAssertThrowsError(
      try conv2d_forward(
        Tensor(zeros: [1, 16, 4, 4]), winogradWeights: cached, bias: nil, geometry: other))
    other = c.geometry
    other.padH = 0
    XCTAssertNoThrow(try conv2d_forward(x, winogradWeights: cached, bias: b, geometry: other))
    other.strideW = 2
    XCTAssertThrowsError(try conv2d_forward(x, winogradWeights: cached, bias: b, geometry: other))
  }

  func testEmptyBatchGivesEmptyOutput() throws {
    for g in [
      Conv2dGeometry(inChannels: 8, outChannels: 4, kernel: 3, padding: 1),
      Conv2dGeometry(inChannels: 8, outChannels: 4, kernel: 3, stride: 2),
      Conv2dGeometry(inChannels: 8, outChannels: 8, kernel: 3, groups: 8),
    ] {
      let y = try conv2d_forward(
        Tensor(zeros: [0, 8, 9, 9]), weight: Tensor(zeros: g.weightShape), bias: nil, geometry: g)
      let out = try g.outputSize(height: 9, width: 9)
      XCTAssertEqual(y.shape, [0, g.outChannels, out.height, out.width])
    }
  }

  // MARK: - Errors

  func testShapeErrorsThrow() throws {
    let g = Conv2dGeometry(inChannels: 3, outChannels: 4, kernel: 3, padding: 1)
    let x = Tensor(zeros: [2, 3, 8, 8])
    let w = Tensor(zeros: g.weightShape)
    assertThrows(Tensor(zeros: [2, 5, 8, 8]), w, nil, g, mentioning: "[2, 5, 8, 8]")
    assertThrows(Tensor(zeros: [3, 8, 8]), w, nil, g, mentioning: "[3, 8, 8]")
    assertThrows(x, Tensor(zeros: [4, 3, 5, 5]), nil, g, mentioning: "[4, 3, 5, 5]")
    assertThrows(x, Tensor(zeros: [3, 4, 3, 3]), nil, g, mentioning: "[4, 3, 3, 3]")
    assertThrows(x, w, Tensor(zeros: [3]), g, mentioning: "[3]")
    // The padded input is smaller than the kernel: no output pixel.
    let big = Conv2dGeometry(inChannels: 3, outChannels: 4, kernel: 7, padding: 1)
    assertThrows(
      Tensor(zeros: [1, 3, 4, 4]), Tensor(zeros: big.weightShape), nil, big,
      mentioning: "4x4")
    // More output than the engine will allocate.
    let wide = Conv2dGeometry(inChannels: 1, outChannels: 1 << 16, kernel: 1)
    assertThrows(
      Tensor(zeros: [1, 1, 200, 200]), Tensor(zeros: wide.weightShape), nil, wide,
      mentioning: "too large")
    XCTAssertThrowsError(try winogradTransformWeights(w, geometry: big))
    XCTAssertThrowsError(
      try winogradTransformWeights(Tensor(zeros: [4, 3, 2, 2]), geometry: g))
  }

  func testAbsurdGeometriesThrow() {
    let bad: [Conv2dGeometry] = [
      Conv2dGeometry(inChannels: 0, outChannels: 4, kernel: 3),
      Conv2dGeometry(inChannels: 4, outChannels: -1, kernel: 3),
      Conv2dGeometry(inChannels: 1 << 20, outChannels: 4, kernel: 3),
      Conv2dGeometry(inChannels: 4, outChannels: 4, kernel: 0),
      Conv2dGeometry(inChannels: 4, outChannels: 4, kernel: 99),
      Conv2dGeometry(inChannels: 4, outChannels: 4, kernel: 3, stride: 0),
      Conv2dGeometry(inChannels: 4, outChannels: 4, kernel: 3, padding: -1),
      Conv2dGeometry(inChannels: 4, outChannels: 4, kernel: 3, padding: 3),
      Conv2dGeometry(inChannels: 4, outChannels: 6, kernel: 3, groups: 4),
      Conv2dGeometry(inChannels: 4, outChannels: 4, kernel: 3, groups: 0),
    ]
    for g in bad {
      XCTAssertThrowsError(try g.validate(), "\(g)") { error in
        guard case .invalidArgument = error as? TensorError else {
          return XCTFail("\(g): expected invalidArgument, got \(error)")
        }
      }
      XCTAssertThrowsError(
        try conv2d_forward(
          Tensor(zeros: [1, 4, 8, 8]), weight: Tensor(zeros: [4, 4, 3, 3]),
          bias: nil, geometry: g))
      XCTAssertEqual(g.macs(height: 8, width: 8), 0, "\(g)")
    }
  }

  // MARK: - Geometry arithmetic

  func testGeometryArithmetic() throws {
    let g = Conv2dGeometry(inChannels: 16, outChannels: 32, kernel: 3, stride: 2, padding: 1)
    XCTAssertNoThrow(try g.validate())
    let out = try g.outputSize(height: 32, width: 31)
    XCTAssertEqual(out.height, 16)
    XCTAssertEqual(out.width, 16)
    XCTAssertEqual(g.weightShape, [32, 16, 3, 3])
    XCTAssertEqual(g.macs(height: 32, width: 32), 16 * 16 * 32 * 16 * 9)
    let grouped = Conv2dGeometry(inChannels: 8, outChannels: 4, kernel: 1, groups: 2)
    XCTAssertEqual(grouped.weightShape, [4, 4, 1, 1])
    XCTAssertEqual(grouped.macs(height: 2, width: 3), 6 * 4 * 4)
    let decoded = try JSONDecoder().decode(
      Conv2dGeometry.self, from: JSONEncoder().encode(g))
    XCTAssertEqual(decoded, g)
  }

  // MARK: - Determinism

  func testRepeatedCallsAreBitIdentical() throws {
    for c in [
      Case(n: 3, c: 16, o: 16, h: 12, w: 12, k: 3, pad: 1, bias: true),
      Case(n: 3, c: 8, o: 8, h: 11, w: 11, k: 3, stride: 2, pad: 1, bias: true),
      Case(n: 3, c: 8, o: 8, h: 11, w: 11, k: 3, pad: 1, groups: 8, bias: true),
    ] {
      let (x, w, b) = c.operands(seed: 11)
      let first = try conv2d_forward(x, weight: w, bias: b, geometry: c.geometry)
      let second = try conv2d_forward(x, weight: w, bias: b, geometry: c.geometry)
      XCTAssertEqual(first, second, "\(c)")
    }
  }

  func testResultDoesNotDependOnThreadCount() throws {
    for c in [
      Case(n: 5, c: 16, o: 16, h: 16, w: 16, k: 3, pad: 1, bias: true),
      Case(n: 5, c: 8, o: 8, h: 15, w: 15, k: 3, stride: 2, pad: 1, bias: true),
      Case(n: 5, c: 8, o: 8, h: 15, w: 15, k: 5, pad: 2, groups: 8, bias: true),
    ] {
      let (x, w, b) = c.operands(seed: 13)
      Parallel.configure(threads: 1)
      let single = try conv2d_forward(x, weight: w, bias: b, geometry: c.geometry)
      for threads in [2, 3, 7] {
        Parallel.configure(threads: threads)
        let multi = try conv2d_forward(x, weight: w, bias: b, geometry: c.geometry)
        assertClose(multi, single, "\(c) with \(threads) threads", tolerance: 1e-5)
      }
    }
  }

  // MARK: - Helpers

  /// A convolution problem: batch, extents and geometry.
  struct Case: CustomStringConvertible {
    var n, h, w: Int
    var geometry: Conv2dGeometry
    var bias: Bool

    init(
      n: Int, c: Int, o: Int, h: Int, w: Int, k: Int, stride: Int = 1, pad: Int = 0,
      groups: Int = 1, bias: Bool
    ) {
      self.init(
        n: n, h: h, w: w,
        geometry: Conv2dGeometry(
          inChannels: c, outChannels: o, kernel: k, stride: stride, padding: pad, groups: groups),
        bias: bias)
    }

    init(n: Int, h: Int, w: Int, geometry: Conv2dGeometry, bias: Bool) {
      (self.n, self.h, self.w, self.geometry, self.bias) = (n, h, w, geometry, bias)
    }

    var description: String { "[\(n), \(h)x\(w)] \(geometry) bias \(bias)" }

    /// Input, weight and bias with entries uniform in [-1, 1), reproducible per seed.
    func operands(seed: UInt64) -> (Tensor, Tensor, Tensor?) {
      var random = SplitMix64(seed: seed)
      func tensor(_ shape: [Int]) -> Tensor {
        try! Tensor(shape: shape, storage: (0..<shape.reduce(1, *)).map { _ in random.nextFloat() })
      }
      let x = tensor([n, geometry.inChannels, h, w])
      let weight = tensor(geometry.weightShape)
      return (x, weight, bias ? tensor([geometry.outChannels]) : nil)
    }
  }

  private func checkAgainstReference(
    _ c: Case, file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let (x, w, b) = c.operands(seed: 3)
    let reference = try conv2d_forward_reference(x, weight: w, bias: b, geometry: c.geometry)
    let fast = try conv2d_forward(x, weight: w, bias: b, geometry: c.geometry)
    XCTAssertEqual(fast.shape, reference.shape, "\(c)", file: file, line: line)
    assertClose(fast, reference, "\(c)", file: file, line: line)
  }

  /// Max absolute difference within `tolerance` times the largest reference magnitude:
  /// Winograd reassociates each output into sums of terms larger than the output, so its
  /// float error scales with the layer's output range rather than with each element.
  private func assertClose(
    _ actual: Tensor, _ expected: Tensor, _ message: String, tolerance: Float = 2e-5,
    file: StaticString = #filePath, line: UInt = #line
  ) {
    guard actual.shape == expected.shape else {
      return XCTFail(
        "\(message): shape \(actual.shape) vs \(expected.shape)", file: file, line: line)
    }
    let scale = max(1, expected.storage.map(abs).max() ?? 0)
    let error = zip(actual.storage, expected.storage).map { abs($0 - $1) }.max() ?? 0
    XCTAssertLessThanOrEqual(
      error, tolerance * scale, "\(message): max error \(error), output scale \(scale)",
      file: file, line: line)
  }

  private func assertThrows(
    _ x: Tensor, _ w: Tensor, _ b: Tensor?, _ g: Conv2dGeometry, mentioning text: String,
    file: StaticString = #filePath, line: UInt = #line
  ) {
    for (name, call) in [
      (
        "conv2d_forward",
        { () throws(TensorError) in _ = try conv2d_forward(x, weight: w, bias: b, geometry: g) }
      ),
      (
        "reference",
        { () throws(TensorError) in
          _ = try conv2d_forward_reference(x, weight: w, bias: b, geometry: g)
        }
      ),
    ] as [(String, () throws(TensorError) -> Void)] {
      do {
        try call()
        XCTFail("\(name) accepted \(x.shape) * \(w.shape) under \(g)", file: file, line: line)
      } catch {
        XCTAssertTrue(
          error.description.contains(text), "\(name): '\(error)' should mention \(text)",
          file: file, line: line)
      }
    }
  }
}

/// SplitMix64 (Steele, Lea & Flood 2014): a tiny seeded generator so test data never
/// depend on the platform's random source.
private struct SplitMix64 {
  private var state: UInt64
  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// Uniform in [-1, 1) with 24 random bits.
  mutating func nextFloat() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }
}
