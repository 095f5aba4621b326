import DiswotFiles
import Foundation
import XCTest

/// SHA-256 against the FIPS 180-4 example vectors (NIST's "SHA256.pdf" and
/// "SHA2_Additional.pdf"), padding boundaries included, and against `sha256sum` of a file.
final class SHA256Tests: XCTestCase {
  func testFIPSExampleVectors() {
    XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    XCTAssertEqual(SHA256.hex([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    XCTAssertEqual(
      SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    XCTAssertEqual(
      SHA256.hex(Array(
        "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu".utf8)),
      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
    XCTAssertEqual(SHA256.hex([0xbd]), "68325720aabd7c82f30f554b313d0570c95accbb7dc4b5aae11204c08ffe732b")
    XCTAssertEqual(SHA256.hex(Array(repeating: 0, count: 55)), "02779466cdec163811d078815c633f21901413081449002f24aa3e80f0b88ef7")
    XCTAssertEqual(SHA256.hex(Array(repeating: 0, count: 56)), "d4817aa5497628e7c77e6b606107042bbba3130888c5f47a375e6179be789fbb")
    XCTAssertEqual(SHA256.hex(Array(repeating: 0, count: 57)), "65a16cb7861335d5ace3c60718b5052e44660726da4cd13bb745381b235a1785")
    XCTAssertEqual(SHA256.hex(Array(repeating: 0, count: 64)), "f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a92759fb4b")
    XCTAssertEqual(SHA256.hex(Array(repeating: 0x61, count: 1_000_000)), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
  }

  /// A file's digest is that of its bytes, as `sha256sum` prints it.
  func testFileDigest() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("sha256-\(UUID())").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try Data("abc".utf8).write(to: URL(fileURLWithPath: path))
    XCTAssertEqual(try SHA256.hex(ofFile: path), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    XCTAssertThrowsError(try SHA256.hex(ofFile: path + "-missing"))
  }
}
