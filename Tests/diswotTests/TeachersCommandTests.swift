import DiswotTensor
import DiswotTestSupport
import Foundation
import XCTest

/// `diswot teachers` end to end, as a real process.
final class TeachersCommandTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-teachers-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  private var trained: String { get throws { try FormulaTeacher.trained } }

  /// A teacher that knows nothing about CIFAR-10's classes, with 100 of its own.
  private func untrainedHundredClassTeacher() throws -> String {
    let path = directory.appendingPathComponent("untrained-100.safetensors").path
    try FormulaTeacher.writeUntrained(to: path, classes: 100)
    return path
  }

  private func rank(_ arguments: [String]) throws -> [String: Any] {
    let result = try Executables.run("diswot", ["teachers", "--json"] + arguments)
    XCTAssertEqual(result.status, 0, result.standardError)
    return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
  }

  /// Every candidate gets a rank, a score in [0, 1], its cost, and a note (and no head
  /// accuracy) when its classes are not the data's; one candidate without the data's
  /// classes makes the default measure (auto) kNN for all.
  func testReportsEveryCandidateWithItsCostAndClassNote() throws {
    let data = try SyntheticCIFAR.write(train: 30, test: 1)
    defer { try? FileManager.default.removeItem(at: data) }
    let other = try untrainedHundredClassTeacher()
    let report = try rank(["--data", "cifar10:\(data.path)", "--candidates", "\(try trained),\(other)", "--k", "3", "--batch", "7"])
    XCTAssertEqual(report["samples"] as? Int, 30)
    XCTAssertEqual(report["k"] as? Int, 3)
    XCTAssertEqual(report["measure"] as? String, "knn-loo-cosine")
    let candidates = try XCTUnwrap(report["candidates"] as? [[String: Any]])
    XCTAssertEqual(candidates.map { $0["rank"] as? Int }, [1, 2])
    XCTAssertEqual(Set(candidates.compactMap { $0["weights"] as? String }), [try trained, other])
    for candidate in candidates {
      let score = try XCTUnwrap(candidate["score"] as? Double)
      XCTAssertTrue((0...1).contains(score))
      XCTAssertEqual(score, Double(try XCTUnwrap(candidate["correct"] as? Int)) / 30, accuracy: 1e-12)
      // The standard error of a mean of 30 zeros and ones: √(p(1 − p)/29).
      XCTAssertEqual(try XCTUnwrap(candidate["score_se"] as? Double), (score * (1 - score) / 29).squareRoot(), accuracy: 1e-12)
      XCTAssertEqual(candidate["knn_se"] as? Double, candidate["score_se"] as? Double)
      XCTAssertGreaterThan(try XCTUnwrap(candidate["seconds"] as? Double), 0)
      XCTAssertEqual(candidate["features"] as? Int, 64)
      XCTAssertEqual(candidate["model"] as? String, "resnet20")
    }
    XCTAssertGreaterThanOrEqual(try XCTUnwrap(candidates[0]["score"] as? Double), try XCTUnwrap(candidates[1]["score"] as? Double))
    let mismatched = try XCTUnwrap(candidates.first { $0["weights"] as? String == other })
    XCTAssertEqual(mismatched["classes"] as? Int, 100)
    XCTAssertNil(mismatched["head_accuracy"])
    XCTAssertTrue(try XCTUnwrap(mismatched["note"] as? String).contains("100 classes, the data has 10"))
    let matched = try XCTUnwrap(candidates.first { $0["weights"] as? String == (try? trained) })
    XCTAssertNil(matched["note"])
    XCTAssertNotNil(matched["head_accuracy"] as? Double)
  }

  /// On real CIFAR-10 images the trained ResNet-20 ranks above the untrained one, by far.
  func testTrainedTeacherRanksAboveUntrainedOnCIFAR10() throws {
    let data = try SharedData.require("datasets/cifar10-subset")
    let other = try untrainedHundredClassTeacher()
    let report = try rank(["--data", "cifar10:\(data.path)", "--split", "test", "--limit", "400",
                           "--candidates", "\(other),\(try trained)", "--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225"])
    let candidates = try XCTUnwrap(report["candidates"] as? [[String: Any]])
    XCTAssertEqual(candidates.first?["weights"] as? String, try trained)
    XCTAssertGreaterThan(try XCTUnwrap(candidates[0]["score"] as? Double), 0.85)
    XCTAssertLessThan(try XCTUnwrap(candidates[1]["score"] as? Double), 0.6)
  }

  /// `--measure likelihood` ranks by the mean log-probability each head gives the true
  /// label, checked against the same teachers' logits from `diswot eval --logits`; the kNN
  /// accuracy is still reported. A teacher without the data's classes cannot be ranked so.
  func testLikelihoodMeasureIsTheHeadsMeanLogProbabilityOfTheLabels() throws {
    let data = try SyntheticCIFAR.write(train: 30, test: 1)
    defer { try? FileManager.default.removeItem(at: data) }
    let untrained = directory.appendingPathComponent("untrained-10.safetensors").path
    try FormulaTeacher.writeUntrained(to: untrained, classes: 10)
    let teachers = [try trained, untrained]
    let report = try rank(["--data", "cifar10:\(data.path)", "--candidates", teachers.joined(separator: ","), "--k", "3", "--measure", "likelihood"])
    XCTAssertEqual(report["measure"] as? String, "label-log-likelihood")
    let candidates = try XCTUnwrap(report["candidates"] as? [[String: Any]])
    for (i, teacher) in teachers.enumerated() {
      let logitsPath = directory.appendingPathComponent("logits-\(i).safetensors").path
      let eval = try Executables.run("diswot", ["eval", "--weights", teacher, "--data", "cifar10:\(data.path)", "--split", "train", "--logits", logitsPath])
      XCTAssertEqual(eval.status, 0, eval.standardError)
      let file = try SafetensorsFile.read(path: logitsPath)
      let logits = try XCTUnwrap(file.tensors["logits"]), labels = try XCTUnwrap(file.tensors["labels"]).storage.map { Int($0) }
      let k = logits.shape[1]
      let perImage = labels.enumerated().map { n, label -> Double in
        let row = logits.storage[(n * k)..<((n + 1) * k)].map(Double.init)
        return row[label] - log(row.map { exp($0) }.reduce(0, +))
      }
      let expected = perImage.reduce(0, +) / Double(labels.count)
      // Its standard error, from the deviations (the product sums squares instead).
      let variance = perImage.map { ($0 - expected) * ($0 - expected) }.reduce(0, +) / Double(labels.count - 1)
      let candidate = try XCTUnwrap(candidates.first { $0["weights"] as? String == teacher })
      XCTAssertEqual(try XCTUnwrap(candidate["score"] as? Double), expected, accuracy: 1e-6 * max(1, abs(expected)))
      let error = (variance / Double(labels.count)).squareRoot()
      XCTAssertEqual(try XCTUnwrap(candidate["score_se"] as? Double), error, accuracy: 1e-5 * max(1e-3, error))
      XCTAssertEqual(candidate["label_log_likelihood_se"] as? Double, candidate["score_se"] as? Double)
      XCTAssertEqual(candidate["label_log_likelihood"] as? Double, candidate["score"] as? Double)
      XCTAssertEqual(try XCTUnwrap(candidate["knn_accuracy"] as? Double), Double(try XCTUnwrap(candidate["correct"] as? Int)) / 30, accuracy: 1e-12)
    }
    XCTAssertGreaterThanOrEqual(try XCTUnwrap(candidates[0]["score"] as? Double), try XCTUnwrap(candidates[1]["score"] as? Double))
    // Every head has the data's classes, so the default measure (auto) is this one.
    let auto = try rank(["--data", "cifar10:\(data.path)", "--candidates", teachers.joined(separator: ","), "--k", "3"])
    XCTAssertEqual(auto["measure"] as? String, "label-log-likelihood")
    XCTAssertEqual((auto["candidates"] as? [[String: Any]])?.map { $0["score"] as? Double }, candidates.map { $0["score"] as? Double })

    let refused = try Executables.run("diswot", [
      "teachers", "--data", "cifar10:\(data.path)", "--candidates", try untrainedHundredClassTeacher(), "--k", "3", "--measure", "likelihood",
    ])
    XCTAssertEqual(refused.status, 2, refused.standardError)
    XCTAssertTrue(refused.standardError.contains("100 classes"), refused.standardError)
    let unknown = try Executables.run("diswot", ["teachers", "--data", "cifar10:\(data.path)", "--candidates", try trained, "--measure", "vibes"])
    XCTAssertEqual(unknown.status, 2, unknown.standardError)
  }

  /// Finite weights whose outputs overflow Float cannot be ranked: an error naming the
  /// file, not a NaN score sorted anywhere.
  func testATeacherWhoseOutputsOverflowIsADataError() throws {
    let data = try SyntheticCIFAR.write(train: 12, test: 1)
    defer { try? FileManager.default.removeItem(at: data) }
    let file = try SafetensorsFile.read(path: try trained)
    let huge = directory.appendingPathComponent("overflowing.safetensors").path
    try SafetensorsFile.write(path: huge, tensors: file.names.map { name in
      let t = file.tensors[name]!
      return (name, name == "linear.weight" ? try Tensor(shape: t.shape, storage: t.storage.map { $0 < 0 ? -3e38 : 3e38 }) : t)
    }, metadata: file.metadata)
    let result = try Executables.run("diswot", ["teachers", "--json", "--data", "cifar10:\(data.path)", "--candidates", "\(try trained),\(huge)", "--k", "3"])
    XCTAssertEqual(result.status, 3, result.standardError)
    XCTAssertTrue(result.standardOutput.contains("overflowing.safetensors: its outputs on"), result.standardOutput)
    XCTAssertTrue(result.standardOutput.contains("are not finite"), result.standardOutput)
  }

  func testBadRequestsAreUsageErrors() throws {
    let data = try SyntheticCIFAR.write(train: 5, test: 1)
    defer { try? FileManager.default.removeItem(at: data) }
    for arguments in [
      ["--data", "cifar10:\(data.path)"],
      ["--data", "cifar10:\(data.path)", "--candidates", "\(try trained),\(try trained)"],
      ["--data", "cifar10:\(data.path)", "--candidates", try trained, "--k", "5"],
      ["--data", "cifar10:\(data.path)", "--candidates", try trained, "--k", "0"],
    ] {
      let result = try Executables.run("diswot", ["teachers"] + arguments)
      XCTAssertFalse(result.crashed)
      XCTAssertEqual(result.status, 2, "\(arguments): \(result.standardError)")
    }
    let missing = try Executables.run(
      "diswot", ["teachers", "--data", "cifar10:\(data.path)", "--k", "2", "--candidates", "/nonexistent.safetensors"])
    XCTAssertEqual(missing.status, 3, missing.standardError)
  }
}
