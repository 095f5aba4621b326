import DiswotTestSupport
import Foundation
import XCTest

/// Every result says how it was made (issue 12, item 13): `search --local --json` and a
/// training run's report (`train --json`, its directory's report.json) carry, under
/// "spec", the space, the teacher's name and the SHA-256 of its weights, the data, the
/// seed, the proxy and the diswot version, in the same shape.
final class ProvenanceCommandTests: XCTestCase {
  static let keys: Set<String> = ["space", "student", "teacher", "more_teachers", "data", "unlabelled", "seed", "proxy", "version"]

  private func json(_ text: String) throws -> [String: Any] {
    try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
  }

  func testSearchAndTrainingReportsCarryTheirSpec() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-provenance-\(UUID())")
    let data = try SyntheticCIFAR.write(train: 16, test: 8)
    defer {
      try? FileManager.default.removeItem(at: root)
      try? FileManager.default.removeItem(at: data)
    }
    let teacher = root.appendingPathComponent("teacher")
    let trained = try Executables.run("diswot", [
      "train", "--student", "resnet-d1_1_1-w32_64_128", "--data", "cifar10:\(data.path)", "--epochs", "1", "--batch", "8",
      "--seed", "3", "--out", teacher.path, "--json",
    ])
    XCTAssertEqual(trained.status, 0, trained.standardError)
    let trainSpec = try XCTUnwrap(try json(trained.standardOutput)["spec"] as? [String: Any])
    XCTAssertEqual(Set(trainSpec.keys), Self.keys)
    XCTAssertEqual(trainSpec["student"] as? String, "resnet-d1_1_1-w32_64_128")
    XCTAssertEqual(trainSpec["data"] as? String, "cifar10:\(data.path)")
    XCTAssertEqual(trainSpec["seed"] as? Int, 3)
    XCTAssertTrue(trainSpec["teacher"] is NSNull && trainSpec["proxy"] is NSNull && trainSpec["space"] is NSNull, "\(trainSpec)")
    let version = try XCTUnwrap(trainSpec["version"] as? String)
    XCTAssertFalse(version.isEmpty)
    let saved = try json(String(contentsOf: teacher.appendingPathComponent("report.json"), encoding: .utf8))
    XCTAssertEqual(saved["spec"] as? NSDictionary, trainSpec as NSDictionary, "report.json holds what --json printed")

    let weights = teacher.appendingPathComponent("student.safetensors").path
    let searched = try Executables.run("diswot", [
      "search", "--local", "--space", "resnet-cifar-depth", "--budget", "2", "--proxy", "diswot", "--seed", "5",
      "--teacher-weights", weights, "--json",
    ])
    XCTAssertEqual(searched.status, 0, searched.standardError)
    let spec = try XCTUnwrap(try json(searched.standardOutput)["spec"] as? [String: Any])
    XCTAssertEqual(Set(spec.keys), Self.keys)
    XCTAssertEqual(spec["space"] as? String, "resnet-cifar-depth")
    XCTAssertEqual(spec["data"] as? String, "gaussian")
    XCTAssertEqual(spec["seed"] as? Int, 5)
    XCTAssertEqual(spec["proxy"] as? String, "diswot")
    XCTAssertEqual(spec["version"] as? String, version)
    XCTAssertTrue(spec["student"] is NSNull)
    let recorded = try XCTUnwrap(spec["teacher"] as? [String: Any])
    XCTAssertEqual(recorded["name"] as? String, "resnet-d1_1_1-w32_64_128", "read off the weights")
    XCTAssertEqual(recorded["weights"] as? String, weights)
    XCTAssertEqual(recorded["sha256"] as? String, try Executables.sha256sum(weights))

    // Distilled from that teacher: the run's spec names and hashes it the same way.
    let student = try Executables.run("diswot", [
      "train", "--student", "resnet8", "--teacher-weights", weights, "--data", "cifar10:\(data.path)", "--epochs", "1",
      "--batch", "8", "--out", root.appendingPathComponent("student").path, "--json",
    ])
    XCTAssertEqual(student.status, 0, student.standardError)
    let distilled = try XCTUnwrap(try json(student.standardOutput)["spec"] as? [String: Any])
    XCTAssertEqual(distilled["teacher"] as? NSDictionary, recorded as NSDictionary)
  }
}
