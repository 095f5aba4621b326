import DiswotTensor
import Foundation
import XCTest

/// Every dtype against the reference implementation's own file (Fixtures/dtypes.safetensors,
/// written by Fixtures/make_dtypes.py with `safetensors.torch.save_file`), and the
/// conversions on writing.
final class SafetensorsDtypeTests: XCTestCase {
  private func fixture() throws -> (bytes: [UInt8], file: SafetensorsFile) {
    let url = try XCTUnwrap(Bundle.module.url(forResource: "dtypes", withExtension: "safetensors", subdirectory: "Fixtures"))
    let bytes = [UInt8](try Data(contentsOf: url))
    return (bytes, try SafetensorsFile.decode(bytes, source: url.lastPathComponent))
  }

  func testReadsEveryDtypeTheReferenceWrites() throws {
    let file = try fixture().file
    let expected: [String: (SafetensorsDtype, [Float])] = [
      "a.mask": (.bool, [1, 0, 1]),
      "b.pixels": (.u8, [0, 255, 7]),
      "c.quantised": (.i8, [-128, 127, 0]),
      "d.short": (.i16, [-32768, 32767, -1]),
      "e.ushort": (.u16, [0, 65535, 4096]),
      "f.half": (.f16, [0.0999755859375, -65504, 0x1p-24]),
      "g.brain": (.bf16, [0.10009765625, -0x1.C4p127, Float(bitPattern: 0x000B_0000)]),
      "h.int": (.i32, [-0x1p31, 2_147_483_520, 16_777_216]),
      "i.uint": (.u32, [0, 4_294_967_040, 3]),
      "j.weight": (.f32, [0.1, -0x1p-149, .infinity]),
      "k.double": (.f64, [0.1, -0x1p-149, 1e38]),
      "l.num_batches_tracked": (.i64, [-0x1p40, 0x1p62, 0]),
      "m.ulong": (.u64, [0, 0x1p63, 12345]),
    ]
    XCTAssertEqual(file.metadata, ["format": "pt"])
    XCTAssertEqual(file.tensors.count, 2 * expected.count)
    for (name, (dtype, values)) in expected {
      XCTAssertEqual(file.dtypes[name], dtype, name)
      XCTAssertEqual(file.dtypes[name + ".scalar"], dtype, name)
      XCTAssertEqual(file.tensors[name]?.shape, [3], name)
      XCTAssertEqual(file.tensors[name]?.storage, values, name)
      XCTAssertEqual(file.tensors[name + ".scalar"]?.shape, [], name)
      XCTAssertEqual(file.tensors[name + ".scalar"]?.storage, [values[1]], name)
    }
  }

  /// Read and written back in their own dtypes, the tensors make the reference's file
  /// again, byte for byte: its layout puts U64, I64, F64 first and BOOL last, not name order.
  func testWritingBackReproducesTheReferenceBytes() throws {
    let (bytes, file) = try fixture()
    var rng = SeededGenerator(seed: 48)
    let tensors = file.names.shuffled(using: &rng).map { (name: $0, tensor: file.tensors[$0]!) }
    XCTAssertEqual(try SafetensorsFile.encode(tensors: tensors, metadata: file.metadata, dtypes: file.dtypes), bytes)
  }

  /// A PyTorch state dict's layout: the I64 counter comes before every F32 tensor.
  func testIntegerCountersAreLaidOutBeforeFloats() throws {
    let bytes = try SafetensorsFile.encode(
      tensors: [("bn.bias", Tensor(zeros: [1])), ("bn.num_batches_tracked", Tensor(zeros: [], value: 7))],
      metadata: [:], dtypes: ["bn.num_batches_tracked": .i64])
    let header = #"{"bn.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"#
      + #""bn.bias":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
    XCTAssertEqual(
      bytes, [136, 0, 0, 0, 0, 0, 0, 0] + Array((header + "  ").utf8) + [7, 0, 0, 0, 0, 0, 0, 0] + [0, 0, 0, 0])
  }

  func testIntegerValuesThatDoNotFitAreErrorsNamingTheTensor() {
    let cases: [(SafetensorsDtype, Float, String)] = [
      (.i64, 2.5, "element 2.5 is not a whole number, as I64 needs"),
      (.i64, .nan, "element nan is not a whole number, as I64 needs"),
      (.i32, .infinity, "element inf is not a whole number, as I32 needs"),
      (.i64, 0x1p63, "element 9.223372e+18 is outside the range of I64"),
      (.u8, -1, "element -1.0 is outside the range of U8"),
      (.i8, 128, "element 128.0 is outside the range of I8"),
      (.u64, -1, "element -1.0 is outside the range of U64"),
      (.bool, 2, "element 2.0 is not 0 or 1, as BOOL needs"),
    ]
    for (dtype, value, reason) in cases {
      XCTAssertThrowsError(
        try SafetensorsFile.encode(tensors: [("t", Tensor(zeros: [2], value: value))], metadata: [:], dtypes: ["t": dtype])
      ) { error in
        XCTAssertEqual(
          error as? SafetensorsError,
          .unrepresentable(file: "in-memory buffer", tensor: "t", dtype: dtype.rawValue, reason: reason))
        XCTAssertEqual(
          (error as? SafetensorsError)?.description,
          "cannot save tensor 't' to safetensors in-memory buffer as \(dtype.rawValue): \(reason)")
      }
    }
  }

  /// Integers beyond 2²⁴ are held as the nearest `Float` (documented on SafetensorsDtype).
  func testLargeIntegersAreRoundedToTheNearestFloat() throws {
    let bytes = try SafetensorsFile.encode(
      tensors: [("n", Tensor(zeros: [1], value: 16_777_216))], metadata: [:], dtypes: ["n": .i64])
    var tweaked = bytes
    tweaked[tweaked.count - 8] = 1  // 2²⁴ + 1, little-endian
    XCTAssertEqual(try SafetensorsFile.decode(tweaked, source: "big").tensors["n"]?.storage, [16_777_216])
  }

  /// Every binary16 value survives F16 → Float → F16; NaNs stay NaNs.
  func testHalfPrecisionRoundTripsEveryBitPattern() throws {
    let halves = (0...UInt16.max).map { $0 }
    let data = halves.flatMap { withUnsafeBytes(of: $0.littleEndian) { Array($0) } }
    let header = #"{"h":{"dtype":"F16","shape":[65536],"data_offsets":[0,131072]}}"#
    let decoded = try SafetensorsFile.decode(
      withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Array($0) } + Array(header.utf8) + data, source: "h")
    let values = try XCTUnwrap(decoded.tensors["h"])
    let encoded = try SafetensorsFile.encode(tensors: [("h", values)], metadata: [:], dtypes: ["h": .f16])
    let written = stride(from: encoded.count - data.count, to: encoded.count, by: 2).map {
      UInt16(encoded[$0]) | UInt16(encoded[$0 + 1]) << 8
    }
    for (half, back) in zip(halves, written) {
      let isNaN = half & 0x7C00 == 0x7C00 && half & 0x3FF != 0
      if isNaN {
        XCTAssertTrue(back & 0x7C00 == 0x7C00 && back & 0x3FF != 0, String(half, radix: 16))
      } else {
        XCTAssertEqual(back, half, String(half, radix: 16))
      }
    }
  }

  /// Rounding to nearest, ties to even, overflow to infinity, underflow to zero.
  func testHalfAndBFloat16RoundToNearestEven() throws {
    let values: [Float] = [1 + 0x1p-11, 1 + 3 * 0x1p-11, 65520, 65519, 0x1p-25, 0x1.000002p-25, -0x1p-26, 3 * 0x1p-25]
    XCTAssertEqual(try written(values, as: .f16), [0x3C00, 0x3C02, 0x7C00, 0x7BFF, 0x0000, 0x0001, 0x8000, 0x0002])
    let brain: [Float] = [1 + 0x1p-8, 1 + 3 * 0x1p-8, .greatestFiniteMagnitude, -.infinity]
    XCTAssertEqual(try written(brain, as: .bf16), [0x3F80, 0x3F82, 0x7F80, 0xFF80])
  }

  private func written(_ values: [Float], as dtype: SafetensorsDtype) throws -> [UInt16] {
    let bytes = try SafetensorsFile.encode(
      tensors: [("x", Tensor(shape: [values.count], storage: values))], metadata: [:], dtypes: ["x": dtype])
    return stride(from: bytes.count - 2 * values.count, to: bytes.count, by: 2).map {
      UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8
    }
  }
}
