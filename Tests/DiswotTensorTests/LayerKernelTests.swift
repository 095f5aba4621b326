import DiswotTensor
import DiswotTestSupport
import XCTest

/// Pooling, linear, element-wise and shortcut kernels against hand-worked values.
final class LayerKernelTests: XCTestCase {
  // 4×4 plane 0…15:
  //  0  1  2  3
  //  4  5  6  7
  //  8  9 10 11
  // 12 13 14 15
  let plane = tensor([1, 1, 4, 4], (0..<16).map(Float.init))

  func testMaxPool2x2() throws {
    let y = try maxpool2d_forward(plane, geometry: Pool2dGeometry(kernel: 2))
    XCTAssertEqual(y.shape, [1, 1, 2, 2])
    XCTAssertEqual(y.storage, [5, 7, 13, 15])
  }

  /// 3×3 windows, stride 2, padding 1: padded cells never win, even against negatives.
  func testMaxPoolPaddingNeverWins() throws {
    let negative = tensor([1, 1, 2, 2], [-4, -3, -2, -1])
    let y = try maxpool2d_forward(negative, geometry: Pool2dGeometry(kernel: 3, stride: 2, padding: 1))
    XCTAssertEqual(y.storage, [-1])
  }

  /// Average with padding counts the padded zeros (count_include_pad=True):
  /// windows start at rows/columns −1 and 1: (0,0) covers 0,1,4,5; (0,1) covers rows 0–1,
  /// columns 1–3; (1,0) rows 1–3, columns 0–1; (1,1) rows 1–3, columns 1–3. Each sum / 9.
  func testAvgPoolCountsPadding() throws {
    let y = try avgpool2d_forward(plane, geometry: Pool2dGeometry(kernel: 3, stride: 2, padding: 1))
    XCTAssertEqual(y.shape, [1, 1, 2, 2])
    assertClose(y.storage, [10.0 / 9, (1 + 2 + 3 + 5 + 6 + 7) / 9.0,
                            (4 + 5 + 8 + 9 + 12 + 13) / 9.0, (5 + 6 + 7 + 9 + 10 + 11 + 13 + 14 + 15) / 9.0])
  }

  func testGlobalAveragePool() throws {
    let y = try global_avgpool_forward(plane)
    XCTAssertEqual(y.shape, [1, 1])
    XCTAssertEqual(y.storage, [7.5])
  }

  func testPoolWindowLargerThanInputIsAnError() {
    XCTAssertThrowsError(try maxpool2d_forward(Tensor(zeros: [1, 1, 2, 2]), geometry: Pool2dGeometry(kernel: 3)))
  }

  /// y = x·Wᵀ + b with x = [[1, 2], [3, 4]], W = [[1, 0], [1, -1], [2, 1]], b = [0.5, 0, -1].
  func testLinear() throws {
    let x = tensor([2, 2], [1, 2, 3, 4])
    let w = tensor([3, 2], [1, 0, 1, -1, 2, 1])
    let y = try linear_forward(x, weight: w, bias: tensor([3], [0.5, 0, -1]))
    XCTAssertEqual(y.shape, [2, 3])
    XCTAssertEqual(y.storage, [1.5, -1, 3, 3.5, -1, 9])
    XCTAssertEqual(try linear_forward(x, weight: w, bias: nil).storage, [1, -1, 4, 3, -1, 10])
    XCTAssertThrowsError(try linear_forward(tensor([1, 3], [1, 2, 3]), weight: w, bias: nil))
  }

  func testAddAndConcat() throws {
    var a = tensor([1, 1, 1, 2], [1, 2])
    try add_forward(&a, tensor([1, 1, 1, 2], [10, 20]))
    XCTAssertEqual(a.storage, [11, 22])
    XCTAssertThrowsError(try add_forward(&a, tensor([2], [1, 2])))

    // Two images; channels of the first input then the second, image by image.
    let p = tensor([2, 1, 1, 2], [1, 2, 3, 4])
    let q = tensor([2, 2, 1, 2], [5, 6, 7, 8, 9, 10, 11, 12])
    let y = try concat_channels_forward([p, q])
    XCTAssertEqual(y.shape, [2, 3, 1, 2])
    XCTAssertEqual(y.storage, [1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12])
    XCTAssertThrowsError(try concat_channels_forward([p, tensor([1, 1, 1, 2], [0, 0])]))
  }

  /// 2 channels of 4×4 → 4 channels of 2×2: one zero channel before, one after, and the
  /// kept channels sampled at even rows and columns (x[:, :, ::2, ::2]).
  func testOptionAShortcut() throws {
    let x = tensor([1, 2, 4, 4], (0..<32).map(Float.init))
    let y = try shortcut_a_forward(x, outChannels: 4, stride: 2)
    XCTAssertEqual(y.shape, [1, 4, 2, 2])
    XCTAssertEqual(y.storage, [0, 0, 0, 0, 0, 2, 8, 10, 16, 18, 24, 26, 0, 0, 0, 0])
    XCTAssertThrowsError(try shortcut_a_forward(x, outChannels: 3, stride: 2))
  }

  func testReLU() {
    var x = tensor([4], [-1, 0, 2, -0.5])
    relu_forward(&x)
    XCTAssertEqual(x.storage, [0, 0, 2, 0])
  }
}
