import DiswotDistillation
import Foundation
import XCTest

/// `unlabelled` (a directory of images without labels): absent from the JSON unless used,
/// and only with what labels the images — a teacher and `pseudo_labels`.
final class TrainingSpecUnlabelledTests: XCTestCase {
  private func spec(teacher: Bool = true, pseudo: Bool = true, data: String = "cifar10:/d", imageSize: Int? = nil) -> TrainingSpec {
    var spec = TrainingSpec(
      student: .init(name: "resnet8"), teacher: teacher ? .init(weights: "/t.safetensors") : nil, data: data, imageSize: imageSize)
    spec.unlabelled = "/images"
    spec.pseudoLabels = pseudo ? .init(filter: "none") : nil
    return spec
  }

  private func refusal(_ spec: TrainingSpec) -> String {
    do { try spec.validate() } catch { return "\(error)" }
    return "accepted"
  }

  func testTheFieldIsAbsentUnlessUsedAndRoundTrips() throws {
    let plain = try JSONSerialization.jsonObject(with: JSONEncoder().encode(TrainingSpec(student: .init(name: "resnet8"), data: "cifar10:/d")))
    XCTAssertNil((plain as? [String: Any])?["unlabelled"])
    let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: JSONEncoder().encode(spec())) as? [String: Any])
    XCTAssertEqual(json["unlabelled"] as? String, "/images")
    XCTAssertEqual(try JSONDecoder().decode(TrainingSpec.self, from: JSONEncoder().encode(spec())), spec())
  }

  func testItNeedsATeacherAndPseudoLabelsAndTakesTheFolderSettings() {
    XCTAssertEqual(refusal(spec()), "accepted")
    XCTAssertTrue(refusal(spec(teacher: false)).contains("unlabelled images need a teacher"), refusal(spec(teacher: false)))
    XCTAssertTrue(refusal(spec(pseudo: false)).contains("unlabelled images need pseudo_labels"), refusal(spec(pseudo: false)))
    // The images are a folder's, whatever the test split is: image_size applies.
    XCTAssertEqual(refusal(spec(imageSize: 32)), "accepted")
    var empty = spec()
    empty.unlabelled = ""
    XCTAssertTrue(refusal(empty).contains("unlabelled must name a directory"), refusal(empty))
  }
}
