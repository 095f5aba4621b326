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
}
