import DiswotScoring
import Foundation
import XCTest

/// The image-folder fields of a scoring spec (`resize`, `skip_bad_images`): absent from
/// the JSON unless used — the daemon keys its scoring sessions by the spec's JSON, so
/// specs that do not use them must encode exactly as before — and checked.
final class ScoringSpecFolderTests: XCTestCase {
  func testFieldsAreAbsentUnlessUsedAndRoundTrip() throws {
    let plain = ScoringSpec(space: "nas-bench-201", teacher: .init(name: "resnet56"), data: "cifar10:/d")
    let text = String(decoding: try JSONEncoder().encode(plain), as: UTF8.self)
    XCTAssertFalse(text.contains("resize") || text.contains("skip_bad_images"), text)

    let folder = ScoringSpec(space: "nas-bench-201", teacher: .init(name: "resnet56"), data: "folder:/d", resize: 32, skipBadImages: true)
    let decoded = try JSONDecoder().decode(ScoringSpec.self, from: JSONEncoder().encode(folder))
    XCTAssertEqual(decoded, folder)
    XCTAssertEqual(decoded.resize, 32)
    XCTAssertTrue(decoded.skipsBadImages)
    XCTAssertNoThrow(try folder.validate())
  }

  func testResizeIsForFoldersOnly() {
    let cifar = ScoringSpec(space: "nas-bench-201", teacher: .init(name: "resnet56"), data: "cifar10:/d", resize: 40)
    XCTAssertThrowsError(try cifar.validate()) { XCTAssertTrue("\($0)".contains("resize applies to image folders"), "\($0)") }
    let tiny = ScoringSpec(space: "nas-bench-201", teacher: .init(name: "resnet56"), data: "folder:/d", resize: 2)
    XCTAssertThrowsError(try tiny.validate()) { XCTAssertTrue("\($0)".contains("resize must be between 8 and 8192"), "\($0)") }
  }
}
