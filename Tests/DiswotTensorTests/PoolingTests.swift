import DiswotTensor
import DiswotTestSupport
import XCTest

/// Average pooling without counting padded positions (`count_include_pad=False`), the
/// variant NAS-Bench-201's `avg_pool_3x3` uses.
final class PoolingTests: XCTestCase {
  // 4×4 plane with value 4r + c:
  //  0  1  2  3
  //  4  5  6  7
  //  8  9 10 11
  // 12 13 14 15
  let plane = tensor([1, 1, 4, 4], (0..<16).map(Float.init))

  /// 3×3, stride 1, padding 1. A window's mean of 4r + c is 4·(mean of its rows) +
  /// (mean of its columns); clipped to the image, the rows (and columns) a window sees
  /// are {0,1}, {0,1,2}, {1,2,3}, {2,3}, with means 0.5, 1, 2, 2.5. So y[i][j] =
  /// 4·m[i] + m[j]: e.g. corner (0,0) = (0+1+4+5)/4 = 2.5, edge (0,1) = (0+1+2+4+5+6)/6 = 3.
  func testAvgPoolExcludingPaddingDividesByVisibleCount() throws {
    let y = try avgpool2d_forward(plane, geometry: Pool2dGeometry(kernel: 3, stride: 1, padding: 1), countIncludePad: false)
    XCTAssertEqual(y.shape, [1, 1, 4, 4])
    let m: [Float] = [0.5, 1, 2, 2.5]
    assertClose(y.storage, (0..<16).map { 4 * m[$0 / 4] + m[$0 % 4] })
    assertClose(Array(y.storage.prefix(4)), [2.5, 3, 4, 4.5])
  }

  /// The same windows counting padding divide by 9: corner (0,0) = 10/9, edge (0,1) = 18/9.
  func testAvgPoolDefaultStillCountsPadding() throws {
    let geometry = Pool2dGeometry(kernel: 3, stride: 1, padding: 1)
    let y = try avgpool2d_forward(plane, geometry: geometry)
    assertClose(Array(y.storage.prefix(2)), [10.0 / 9, 18.0 / 9])
    XCTAssertEqual(y.storage, try avgpool2d_forward(plane, geometry: geometry, countIncludePad: true).storage)
  }

  /// A constant image stays constant without padding counted; with it, borders darken
  /// (corners see 4 of 9 cells, edges 6 of 9).
  func testConstantImageStaysConstantOnlyWithoutPadding() throws {
    let ones = Tensor(zeros: [2, 3, 5, 5], value: 1)
    let geometry = Pool2dGeometry(kernel: 3, stride: 1, padding: 1)
    let excluded = try avgpool2d_forward(ones, geometry: geometry, countIncludePad: false)
    assertClose(excluded.storage, [Float](repeating: 1, count: 2 * 3 * 25))
    let included = try avgpool2d_forward(ones, geometry: geometry)
    assertClose(Array(included.storage.prefix(3)), [4.0 / 9, 6.0 / 9, 6.0 / 9])
  }

  /// 3×3, stride 2, padding 1 on the 4×4 plane: windows see rows/columns {0,1} and
  /// {1,2,3} (means 0.5 and 2), so y = [4·0.5 + 0.5, 4·0.5 + 2, 4·2 + 0.5, 4·2 + 2].
  func testAvgPoolExcludingPaddingWithStride() throws {
    let y = try avgpool2d_forward(plane, geometry: Pool2dGeometry(kernel: 3, stride: 2, padding: 1), countIncludePad: false)
    XCTAssertEqual(y.shape, [1, 1, 2, 2])
    assertClose(y.storage, [2.5, 4, 8.5, 10])
  }

  /// Without padding both modes agree (every window lies inside the image).
  func testNoPaddingModesAgree() throws {
    let geometry = Pool2dGeometry(kernel: 2, stride: 2)
    XCTAssertEqual(
      try avgpool2d_forward(plane, geometry: geometry, countIncludePad: false).storage,
      try avgpool2d_forward(plane, geometry: geometry).storage)
    XCTAssertEqual(try avgpool2d_forward(plane, geometry: geometry).storage, [2.5, 4.5, 10.5, 12.5])
  }

  /// The separable kernels against the one-window-at-a-time references, on every geometry
  /// `outputSize` accepts for kernels 1–4 and strides 1–3, both divisor rules, on planes
  /// of odd, even and kernel-sized extents (several planes, so the per-plane offsets are
  /// exercised too). Sums are taken in different orders, so they agree to rounding.
  func testSeparableKernelsMatchTheReferences() throws {
    var rng = SeededGenerator(seed: 7)
    var checked = 0
    for kernel in 1...4 {
      for stride in 1...3 {
        for padding in 0...(kernel / 2) {
          let g = Pool2dGeometry(kernel: kernel, stride: stride, padding: padding)
          for (h, w) in [(kernel, kernel), (5, 7), (8, 6), (9, 9)] {
            let x = Tensor.normal([2, 3, h, w], mean: 0, std: 1, using: &rng)
            for includePad in [false, true] {
              let label = "\(g) \(h)x\(w) countIncludePad \(includePad)"
              let y = try avgpool2d_forward(x, geometry: g, countIncludePad: includePad)
              let expected = try avgpool2d_forward_reference(x, geometry: g, countIncludePad: includePad)
              XCTAssertEqual(y.shape, expected.shape, label)
              assertClose(y, expected, abs: 1e-6, rel: 1e-5, label)
              let dy = Tensor.normal(y.shape, mean: 0, std: 1, using: &rng)
              assertClose(
                try avgpool2d_backward(dy, inputShape: x.shape, geometry: g, countIncludePad: includePad),
                try avgpool2d_backward_reference(dy, inputShape: x.shape, geometry: g, countIncludePad: includePad),
                abs: 1e-6, rel: 1e-5, label)
              checked += 1
            }
          }
        }
      }
    }
    XCTAssertEqual(checked, 2 * 4 * 3 * (1 + 2 + 2 + 3))
  }

  /// The references on the hand-worked plane above: they are the independent computation
  /// the separable kernels are held to, so they are held to hand-worked values themselves.
  func testReferencesGiveTheHandWorkedValues() throws {
    let g = Pool2dGeometry(kernel: 3, stride: 1, padding: 1)
    let m: [Float] = [0.5, 1, 2, 2.5]
    assertClose(
      try avgpool2d_forward_reference(plane, geometry: g, countIncludePad: false).storage,
      (0..<16).map { 4 * m[$0 / 4] + m[$0 % 4] })
    // A unit gradient at output (0, 0), whose window is the 2×2 corner, gives each of the
    // four positions 1/4 without padding counted, 1/9 with it.
    var dy = Tensor(zeros: [1, 1, 4, 4])
    dy.storage[0] = 1
    let corner = [0, 1, 4, 5]
    for (includePad, share) in [(false, Float(0.25)), (true, Float(1) / 9)] {
      let dx = try avgpool2d_backward_reference(dy, inputShape: plane.shape, geometry: g, countIncludePad: includePad)
      assertClose(dx.storage, (0..<16).map { corner.contains($0) ? share : 0 })
    }
  }
}
