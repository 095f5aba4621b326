import DiswotTensor
import DiswotTestSupport
import Foundation
import XCTest

final class SafetensorsTests: XCTestCase {
  // MARK: - Writing and reading back

  func testRoundTripThroughAFileKeepsValuesShapesAndMetadata() throws {
    let directory = try temporaryDirectory()
    let path = directory.appendingPathComponent("model.safetensors").path
    let weight = try Tensor(shape: [2, 3], storage: [1, -2.5, 3e-8, .infinity, -0.0, 65504])
    let scalar = try Tensor(shape: [], storage: [42])
    let empty = try Tensor(shape: [0, 4], storage: [])
    let metadata = [
      "arch": "resnet20", "mean": "0.485,0.456,0.406", "note": "quote \" slash \\ tab \t é",
    ]

    try SafetensorsFile.write(
      path: path, tensors: [("w", weight), ("b.scalar", scalar), ("a.empty", empty)],
      metadata: metadata)
    let file = try SafetensorsFile.read(path: path)

    XCTAssertEqual(file.names, ["a.empty", "b.scalar", "w"])
    XCTAssertEqual(file.tensors["w"], weight)
    XCTAssertEqual(file.tensors["b.scalar"], scalar)
    XCTAssertEqual(file.tensors["a.empty"], empty)
    XCTAssertEqual(file.metadata, metadata)
    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(atPath: directory.path), ["model.safetensors"],
      "the temporary file is renamed into place, not left behind")
  }

  func testWriteReplacesAnExistingFile() throws {
    let path = try temporaryDirectory().appendingPathComponent("x.safetensors").path
    try SafetensorsFile.write(path: path, tensors: [("a", Tensor(zeros: [3]))], metadata: [:])
    try SafetensorsFile.write(
      path: path, tensors: [("b", Tensor(zeros: [1], value: 7))], metadata: [:])
    XCTAssertEqual(
      try SafetensorsFile.read(path: path).tensors, ["b": Tensor(zeros: [1], value: 7)])
  }

  func testNaNSurvivesTheRoundTrip() throws {
    let bytes = try SafetensorsFile.encode(
      tensors: [("x", Tensor(zeros: [1], value: .nan))], metadata: [:])
    XCTAssertTrue(try SafetensorsFile.decode(bytes, source: "nan").tensors["x"]![0].isNaN)
  }

  /// The expected bytes are those of the reference implementation's own tests
  /// (huggingface/safetensors, safetensors/src/tensor.rs: `test_serialization`,
  /// `test_serialization_forced_alignement`, `test_empty`).
  func testEncodingMatchesTheReferenceImplementationByteForByte() throws {
    let values = try Tensor(shape: [1, 2, 3], storage: [0, 1, 2, 3, 4, 5])
    let data: [UInt8] = [
      0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
    ]
    XCTAssertEqual(
      try SafetensorsFile.encode(tensors: [("attn.0", values)], metadata: [:]),
      [64, 0, 0, 0, 0, 0, 0, 0]
        + Array(#"{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}"#.utf8) + data)
    XCTAssertEqual(
      try SafetensorsFile.encode(
        tensors: [("attn0", values.reshaped([1, 1, 2, 3]))], metadata: [:]),
      [72, 0, 0, 0, 0, 0, 0, 0]
        + Array(#"{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       "#.utf8)
        + data)
    XCTAssertEqual(
      try SafetensorsFile.encode(tensors: [], metadata: [:]),
      [8, 0, 0, 0, 0, 0, 0, 0] + Array("{}      ".utf8))
    XCTAssertEqual(
      try SafetensorsFile.encode(tensors: [], metadata: ["framework": "pt"]),
      [40, 0, 0, 0, 0, 0, 0, 0] + Array(#"{"__metadata__":{"framework":"pt"}}     "#.utf8))
  }

  func testHeaderIsPaddedWithSpacesToAMultipleOfEight() throws {
    for length in 1...9 {
      let name = String(repeating: "n", count: length)
      let bytes = try SafetensorsFile.encode(tensors: [(name, Tensor(zeros: [2]))], metadata: [:])
      let headerLength = Int(bytes[0]) | Int(bytes[1]) << 8
      XCTAssertEqual(headerLength % 8, 0, name)
      XCTAssertEqual(bytes.count, 8 + headerLength + 8, name)
      let header = String(decoding: bytes[8..<(8 + headerLength)], as: UTF8.self)
      XCTAssertTrue(header.trimmingCharacters(in: .init(charactersIn: " ")).hasSuffix("}"), name)
    }
  }

  func testEncodingRejectsDuplicateAndReservedNames() {
    XCTAssertThrowsError(
      try SafetensorsFile.encode(
        tensors: [("a", Tensor(zeros: [1])), ("a", Tensor(zeros: [2]))], metadata: [:])
    ) { error in
      XCTAssertEqual(
        error as? SafetensorsError,
        .invalidName(file: "in-memory buffer", tensor: "a", reason: "two tensors have this name"))
    }
    XCTAssertThrowsError(
      try SafetensorsFile.encode(tensors: [("__metadata__", Tensor(zeros: [1]))], metadata: [:]))
  }

  func testWritingIntoAMissingDirectoryFailsAndNamesTheFile() {
    let path = "/nonexistent-diswot-dir/model.safetensors"
    XCTAssertThrowsError(try SafetensorsFile.write(path: path, tensors: [], metadata: [:])) {
      error in
      guard case .unwritable(let file, let reason)? = error as? SafetensorsError else {
        return XCTFail("\(error)")
      }
      XCTAssertEqual(file, path)
      XCTAssertTrue(reason.contains("No such file or directory"), reason)
    }
  }

  func testReadingAMissingFileNamesItAndSaysWhy() {
    XCTAssertThrowsError(try SafetensorsFile.read(path: "/nonexistent/x.safetensors")) { error in
      XCTAssertEqual(
        (error as? SafetensorsError)?.description,
        "cannot read safetensors file /nonexistent/x.safetensors: cannot open /nonexistent/x.safetensors: No such file or directory"
      )
    }
  }

  // MARK: - Other dtypes

  func testDecodesF16BitPatterns() throws {
    let halves: [UInt16] = [
      0x3C00,  // 1
      0xC000,  // -2
      0x3555,  // 2⁻² × (1 + 341/1024) = 0.333251953125
      0x7BFF,  // largest normal, 65504
      0x0400,  // smallest normal, 2⁻¹⁴
      0x03FF,  // largest subnormal, 1023 × 2⁻²⁴
      0x0001,  // smallest subnormal, 2⁻²⁴
      0x8000,  // -0
      0x7C00,  // +∞
      0xFC00,  // -∞
    ]
    let tensor = try decodeSingle(dtype: "F16", shape: [2, 5], data: littleEndianBytes(halves))
    XCTAssertEqual(tensor.shape, [2, 5])
    XCTAssertEqual(
      tensor.storage,
      [1, -2, 0.333251953125, 65504, 0x1p-14, 1023 * 0x1p-24, 0x1p-24, -0.0, .infinity, -.infinity])
    XCTAssertEqual(tensor.storage[7].sign, .minus)
    XCTAssertTrue(
      try decodeSingle(dtype: "F16", shape: [1], data: littleEndianBytes([UInt16(0x7E00)]))[0].isNaN
    )
  }

  func testDecodesBF16BitPatterns() throws {
    let tensor = try decodeSingle(
      dtype: "BF16", shape: [5],
      data: littleEndianBytes([UInt16(0x3F80), 0xC000, 0x4049, 0x7F80, 0x0001]))
    // BF16 is the top half of a binary32: 0x4049 → 0x40490000 = 3.140625,
    // 0x0001 → 0x00010000 = 2⁻¹³³ (a binary32 subnormal).
    XCTAssertEqual(tensor.storage, [1, -2, 3.140625, .infinity, 0x1p-133])
  }

  func testDecodesF64ByRoundingToFloat() throws {
    let tensor = try decodeSingle(
      dtype: "F64", shape: [3], data: littleEndianBytes([1.0, -0.1, 1e300].map(\.bitPattern)))
    XCTAssertEqual(tensor.storage, [1, Float(-0.1), .infinity])
  }

  func testDecodesUnalignedF32Data() throws {
    // The one-element F16 tensor puts the F32 tensor's data 2 bytes into the buffer, and the
    // unpadded header puts the buffer at an arbitrary address: the F32 loads are unaligned.
    let header =
      #"{"h":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},"#
      + #""f":{"dtype":"F32","shape":[2],"data_offsets":[2,10]}}"#
    let bytes = fileBytes(
      header: header, data: [0x00, 0x3C] + littleEndianBytes([Float(1.5), -3].map(\.bitPattern)))
    let file = try SafetensorsFile.decode(bytes, source: "unaligned")
    XCTAssertEqual(file.tensors["h"]?.storage, [1])
    XCTAssertEqual(file.tensors["f"]?.storage, [1.5, -3])
  }

  func testUnsupportedDtypeNamesTheTensorAndDtype() {
    assertDecodeError(
      header: #"{"q":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}"#,
      data: [0],
      .unsupportedDtype(file: "test.safetensors", tensor: "q", dtype: "F8_E4M3"))
    XCTAssertEqual(
      SafetensorsError.unsupportedDtype(file: "f", tensor: "q", dtype: "F8_E4M3").description,
      "safetensors file f, tensor 'q': unsupported dtype F8_E4M3 "
        + "(supported: BOOL, U8, I8, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64)")
  }

  // MARK: - Corrupted files

  func testTruncatedFilesAreErrors() throws {
    let bytes = try SafetensorsFile.encode(
      tensors: [("a", Tensor(zeros: [4], value: 1)), ("b", Tensor(zeros: [2, 2], value: 2))],
      metadata: ["k": "v"])
    let headerEnd = 8 + (Int(bytes[0]) | Int(bytes[1]) << 8)
    for cut in [
      0, 1, 7, 8, 9, headerEnd / 2, headerEnd - 1, headerEnd, headerEnd + 3, bytes.count - 1,
    ] {
      XCTAssertThrowsError(try SafetensorsFile.decode(Array(bytes[..<cut]), source: "cut")) {
        error in
        guard case .truncated(let file, _)? = error as? SafetensorsError else {
          return XCTFail("cut at \(cut): \(error)")
        }
        XCTAssertEqual(file, "cut")
      }
    }
    XCTAssertNoThrow(try SafetensorsFile.decode(bytes, source: "whole"))
  }

  func testInvalidHeadersAreErrors() {
    let huge: [UInt8] = [0x00, 0xE2, 0xF5, 0x05, 0, 0, 0, 0]  // 100_000_256 bytes
    XCTAssertThrowsError(
      try SafetensorsFile.decode(huge + [UInt8](repeating: 0, count: 16), source: "huge")
    ) {
      XCTAssertEqual(
        $0 as? SafetensorsError,
        .invalidHeader(
          file: "huge", reason: "header length 100000256 exceeds the 100000000-byte limit"))
    }
    for header in ["not json", "[1, 2]", "{\"a\": ", "{\"a\":1} trailing", "{}}"] {
      assertInvalidHeader(header)
    }
    let notUTF8: [UInt8] = [0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D]  // {"\xFF":1}
    assertInvalidHeader(
      littleEndianBytes([UInt64(notUTF8.count)]) + notUTF8,
      reason: "the header is not valid UTF-8 JSON")
    assertInvalidHeader(
      #"{"__metadata__":{"epochs":200}}"#,
      reason: "__metadata__ value of 'epochs' is a number, not a string")
    assertInvalidHeader(#"{"__metadata__":["a"]}"#)
    assertInvalidHeader(
      "{}", data: [1, 2, 3, 4], reason: "4 bytes after the last tensor's data belong to no tensor")
  }

  func testMalformedTensorEntriesAreErrors() {
    let cases: [(String, String)] = [
      (#"{"t":5}"#, "its header entry is a number, not an object"),
      (#"{"t":{"shape":[1],"data_offsets":[0,4]}}"#, "missing field 'dtype'"),
      (#"{"t":{"dtype":3,"shape":[1],"data_offsets":[0,4]}}"#, "'dtype' is a number, not a string"),
      (#"{"t":{"dtype":"F32","data_offsets":[0,4]}}"#, "missing field 'shape'"),
      (
        #"{"t":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}"#,
        "'shape' is a string, not an array of integers"
      ),
      (
        #"{"t":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#,
        "'shape' holds a number that is not an integer"
      ),
      (
        #"{"t":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}"#,
        "'shape' holds a boolean that is not an integer"
      ),
      (
        #"{"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
        "shape [-1] has a negative dimension -1"
      ),
      (#"{"t":{"dtype":"F32","shape":[1]}}"#, "missing field 'data_offsets'"),
      (
        #"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#,
        "'data_offsets' must be [begin, end], found 3 values"
      ),
      (
        #"{"t":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#,
        "data_offsets [4, 0] are not a valid range (0 ≤ begin ≤ end)"
      ),
      (
        #"{"t":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#,
        "data_offsets [-4, 0] are not a valid range (0 ≤ begin ≤ end)"
      ),
      (
        #"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#,
        "shape [2] of F32 needs 8 bytes, but data_offsets [0, 4] span 4"
      ),
      (
        #"{"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#,
        "shape [4294967296, 4294967296] is too large to address"
      ),
    ]
    for (header, reason) in cases {
      assertDecodeError(
        header: header, data: [0, 0, 0, 0],
        .invalidTensor(file: "test.safetensors", tensor: "t", reason: reason))
    }
  }

  func testOffsetsMustTileTheDataBuffer() {
    let overlap =
      #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"#
      + #""b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
    assertDecodeError(
      header: overlap, data: [UInt8](repeating: 0, count: 8),
      .invalidTensor(
        file: "test.safetensors", tensor: "b",
        reason: "data_offsets [4, 8] overlap tensor 'a' at [0, 8]"))
    let gap =
      #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"#
      + #""b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
    assertDecodeError(
      header: gap, data: [UInt8](repeating: 0, count: 12),
      .invalidTensor(
        file: "test.safetensors", tensor: "b",
        reason: "data_offsets [8, 12] leave data bytes 4..<8 belonging to no tensor"))
    assertDecodeError(
      header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0],
      .truncated(
        file: "test.safetensors",
        reason: "the header describes 8 bytes of tensor data, but only 4 follow it"))
  }

  func testEveryErrorMessageNamesTheFile() {
    let errors: [SafetensorsError] = [
      .unreadable(file: "F", reason: "r"), .unwritable(file: "F", reason: "r"),
      .truncated(file: "F", reason: "r"),
      .invalidHeader(file: "F", reason: "r"), .invalidTensor(file: "F", tensor: "t", reason: "r"),
      .unsupportedDtype(file: "F", tensor: "t", dtype: "I8"),
      .invalidName(file: "F", tensor: "t", reason: "r"),
      .unrepresentable(file: "F", tensor: "t", dtype: "I64", reason: "r"),
    ]
    for error in errors {
      XCTAssertTrue(error.description.contains(" F"), error.description)
    }
  }

  // MARK: - Real checkpoint

  func testReadsTheResNet20Teacher() throws {
    let url = try SharedData.require("teachers/cifar10-resnet20.safetensors")
    let file = try SafetensorsFile.read(path: url.path)

    XCTAssertEqual(file.metadata["arch"], "resnet20")
    XCTAssertEqual(file.metadata["dataset"], "cifar10")
    XCTAssertEqual(file.metadata["mean"], "0.485,0.456,0.406")
    XCTAssertEqual(file.tensors.count, 97)
    XCTAssertEqual(file.tensors["conv1.weight"]?.shape, [16, 3, 3, 3])
    XCTAssertEqual(file.tensors["linear.weight"]?.shape, [10, 64])
    XCTAssertEqual(file.tensors["layer3.2.conv2.weight"]?.shape, [64, 64, 3, 3])
    XCTAssertEqual(file.tensors["bn1.running_var"]?.shape, [16])
    // Computed once with Python: safetensors.numpy.load_file(path)["conv1.weight"]
    //   .astype(numpy.float64).sum() == 1.3100982000032673; first elements -0.13818146, -0.16241768.
    let conv1 = try XCTUnwrap(file.tensors["conv1.weight"])
    XCTAssertEqual(
      conv1.storage.reduce(0.0) { $0 + Double($1) }, 1.3100982000032673, accuracy: 1e-9)
    XCTAssertEqual(conv1.storage[0], -0.13818146)
    XCTAssertEqual(conv1.storage[1], -0.16241768)
  }

  // MARK: - Helpers

  /// A file with exactly this header text (no padding) and data buffer.
  private func fileBytes(header: String, data: [UInt8]) -> [UInt8] {
    littleEndianBytes([UInt64(header.utf8.count)]) + Array(header.utf8) + data
  }

  private func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
  }

  /// The one tensor "t" of a file holding `data` as `dtype` with `shape`.
  private func decodeSingle(dtype: String, shape: [Int], data: [UInt8]) throws -> Tensor {
    let shapeText = shape.map(String.init).joined(separator: ",")
    let header =
      #"{"t":{"dtype":""# + dtype + #"","shape":["# + shapeText + #"],"data_offsets":[0,"#
      + "\(data.count)]}}"
    return try XCTUnwrap(
      SafetensorsFile.decode(fileBytes(header: header, data: data), source: "t").tensors["t"])
  }

  private func assertDecodeError(
    header: String, data: [UInt8], _ expected: SafetensorsError, line: UInt = #line
  ) {
    XCTAssertThrowsError(
      try SafetensorsFile.decode(fileBytes(header: header, data: data), source: "test.safetensors"),
      line: line
    ) { error in
      XCTAssertEqual(error as? SafetensorsError, expected, line: line)
    }
  }

  private func assertInvalidHeader(
    _ header: String, data: [UInt8] = [], reason: String? = nil, line: UInt = #line
  ) {
    assertInvalidHeader(fileBytes(header: header, data: data), reason: reason, line: line)
  }

  private func assertInvalidHeader(_ bytes: [UInt8], reason: String? = nil, line: UInt = #line) {
    XCTAssertThrowsError(try SafetensorsFile.decode(bytes, source: "bad"), line: line) { error in
      guard case .invalidHeader(let file, let actual)? = error as? SafetensorsError else {
        return XCTFail("\(error)", line: line)
      }
      XCTAssertEqual(file, "bad", line: line)
      if let reason { XCTAssertEqual(actual, reason, line: line) }
    }
  }

  private func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
      "diswot-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
  }
}
