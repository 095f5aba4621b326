import DiswotDistillation
import Foundation
import XCTest

/// The image-folder fields of a training spec (`image_size`, `resize`, `skip_bad_images`):
/// absent from the JSON unless used, so older spec.json files and daemon requests read as
/// before, and checked like every other field.
final class TrainingSpecFolderTests: XCTestCase {
  private func encoded(_ spec: TrainingSpec) throws -> [String: Any] {
    try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(spec)) as? [String: Any])
  }

  func testFieldsAreAbsentUnlessUsedAndRoundTrip() throws {
    let plain = TrainingSpec(student: .init(name: "resnet8"), data: "cifar10:/d")
    let keys = try encoded(plain).keys
    XCTAssertFalse(keys.contains("image_size") || keys.contains("resize") || keys.contains("skip_bad_images"), "\(keys)")
    XCTAssertFalse(plain.skipsBadImages)

    let folder = TrainingSpec(student: .init(name: "wrn_16_2"), data: "folder:/d", imageSize: 32, resize: 32, skipBadImages: true)
    let json = try encoded(folder)
    XCTAssertEqual(json["image_size"] as? Int, 32)
    XCTAssertEqual(json["resize"] as? Int, 32)
    XCTAssertEqual(json["skip_bad_images"] as? Bool, true)
    XCTAssertEqual(try JSONDecoder().decode(TrainingSpec.self, from: JSONEncoder().encode(folder)), folder)
    XCTAssertNoThrow(try folder.validate())
  }

  func testFolderSettingsAreCheckedAgainstTheData() {
    func refusal(_ spec: TrainingSpec) -> String {
      do { try spec.validate() } catch { return "\(error)" }
      return "accepted"
    }
    XCTAssertTrue(refusal(TrainingSpec(student: .init(name: "resnet8"), data: "cifar10:/d", resize: 40)).contains("resize applies to image folders"))
    XCTAssertTrue(refusal(TrainingSpec(student: .init(name: "resnet8"), data: "cifar10:/d", imageSize: 64)).contains("image_size applies to image folders"))
    XCTAssertTrue(refusal(TrainingSpec(student: .init(name: "resnet8"), data: "folder:/d", imageSize: 32, resize: 28)).contains("resize 28 is smaller than the 32×32 crop"))
    XCTAssertTrue(refusal(TrainingSpec(student: .init(name: "resnet8"), data: "folder:/d", imageSize: 4)).contains("image_size must be between 8 and 4096"))
    XCTAssertEqual(refusal(TrainingSpec(student: .init(name: "resnet8"), data: "cifar10:/d", skipBadImages: true)), "accepted", "nothing to skip, nothing refused")
  }
}
