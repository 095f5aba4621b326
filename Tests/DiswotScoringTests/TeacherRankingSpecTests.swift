import DiswotScoring
import Foundation
import XCTest

/// The one description of a teacher ranking that `diswot teachers` builds from its options
/// and the daemon reads from `teachers.start`: absent members are the command's defaults,
/// and `validate()` refuses what both refuse.
final class TeacherRankingSpecTests: XCTestCase {
  private func decode(_ json: String) throws -> TeacherRankingSpec {
    try JSONDecoder().decode(TeacherRankingSpec.self, from: Data(json.utf8))
  }

  func testAbsentMembersTakeTheCommandsDefaultsAndSurviveARoundTrip() throws {
    let spec = try decode(#"{"data": "cifar10:/d", "candidates": ["/a", "/b"]}"#)
    XCTAssertEqual(spec, TeacherRankingSpec(data: "cifar10:/d", candidates: ["/a", "/b"]))
    XCTAssertEqual([spec.split, "\(spec.limit)", "\(spec.k)", "\(spec.batch)", spec.measure.rawValue], ["train", "256", "10", "128", "auto"])
    XCTAssertNil(spec.imageSize)
    var full = spec
    (full.imageSize, full.mean, full.std, full.split) = (64, "0.5,0.5,0.5", "0.2,0.2,0.2", "test")
    XCTAssertEqual(try JSONDecoder().decode(TeacherRankingSpec.self, from: JSONEncoder().encode(full)), full)
    XCTAssertNoThrow(try full.validate())
  }

  func testValidateRefusesWhatTheCommandRefuses() throws {
    let good = TeacherRankingSpec(data: "cifar10:/d", candidates: ["/a", "/b"])
    let cases: [(WritableKeyPath<TeacherRankingSpec, Int>, Int, String)] = [
      (\.k, 0, "k must be an integer between 1 and 1000"), (\.limit, 1, "limit must be"), (\.batch, 5000, "batch must be"),
    ]
    for (path, value, message) in cases {
      var spec = good
      spec[keyPath: path] = value
      XCTAssertThrowsError(try spec.validate()) { XCTAssertTrue("\($0)".contains(message), "\($0)") }
    }
    for (change, message) in [
      ({ (s: inout TeacherRankingSpec) in s.candidates = ["/a", "/a"] }, "candidates names /a twice"),
      ({ $0.candidates = [] }, "at least one"),
      ({ $0.split = "val" }, "split must be train or test"),
      ({ $0.imageSize = 4 }, "image_size must be"),
      ({ $0.mean = "0.5" }, "mean and std go together"),
      ({ $0.data = "imagenet:/d" }, "data:"),
    ] as [((inout TeacherRankingSpec) -> Void, String)] {
      var spec = good
      change(&spec)
      XCTAssertThrowsError(try spec.validate()) { error in
        XCTAssertEqual((error as? TeacherRankingError).map { if case .invalidRequest = $0 { true } else { false } }, true)
        XCTAssertTrue("\(error)".contains(message), "\(error)")
      }
    }
  }
}
