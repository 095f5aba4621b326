import DiswotTensor
import DiswotTestSupport
import Foundation
import XCTest

/// `diswot train --unlabelled DIR` end to end, and `--ignore-labels` on a streamed image
/// folder: the images are the synthetic CIFAR-10 training records written as PNG files, so
/// the teacher's outputs on them are its outputs on the records, computed independently
/// here with `diswot eval --logits`.
final class UnlabelledTrainCommandTests: XCTestCase {
  private var root: URL!
  private var data: URL!
  private var unlabelled: URL!
  /// The trained ResNet-20 fixture with CIFAR-10's mean and std in its metadata, so that
  /// every run normalises alike whatever its data's default (ImageNet's for folders).
  private var teacher: String!

  override func setUpWithError() throws {
    root = try scratchDirectory(self)
    data = try SyntheticCIFAR.write(train: 64, test: 16)
    unlabelled = root.appendingPathComponent("unlabelled")
    XCTAssertEqual(try SyntheticImageFolder.writeImages(copying: data, to: unlabelled), 64)
    let file = try SafetensorsFile.read(path: try FormulaTeacher.trained)
    teacher = root.appendingPathComponent("teacher.safetensors").path
    try SafetensorsFile.write(
      path: teacher, tensors: file.names.map { ($0, file.tensors[$0]!) },
      metadata: ["mean": "0.4914,0.4822,0.4465", "std": "0.2470,0.2435,0.2616"])
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: data)
  }

  private func json(_ text: String) throws -> [String: Any] {
    try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
  }

  private func jsonFile(_ path: String) throws -> [String: Any] {
    try json(try String(contentsOfFile: path, encoding: .utf8))
  }

  /// Each training record's softmax (T = 1) under the teacher, and its true label.
  private func teacherProbabilities() throws -> (p: [[Double]], labels: [Int]) {
    let path = root.appendingPathComponent("logits.safetensors").path
    let eval = try Executables.run("diswot", ["eval", "--weights", teacher, "--data", "cifar10:\(data.path)", "--split", "train", "--logits", path])
    XCTAssertEqual(eval.status, 0, eval.standardError)
    let file = try SafetensorsFile.read(path: path)
    let logits = try XCTUnwrap(file.tensors["logits"])
    let k = logits.shape[1]
    let p = (0..<logits.shape[0]).map { i -> [Double] in
      let row = logits.storage[(i * k)..<((i + 1) * k)].map(Double.init)
      let e = row.map { exp($0 - row.max()!) }
      return e.map { $0 / e.reduce(0, +) }
    }
    return (p, try XCTUnwrap(file.tensors["labels"]).storage.map { Int($0) })
  }

  /// A confidence threshold halfway between the two middle confidences: about half the
  /// images kept, none of them on the edge.
  private func middleThreshold(_ p: [[Double]]) -> Double {
    let sorted = p.map { $0.max()! }.sorted()
    return (sorted[p.count / 2 - 1] + sorted[p.count / 2]) / 2
  }

  /// `--resize 32` keeps the 32×32 PNG files whole, so the images labelled are the records.
  private func trainArguments(_ out: String, _ extra: [String]) -> [String] {
    ["train", "--student", "resnet8", "--data", "cifar10:\(data.path)", "--unlabelled", unlabelled.path, "--teacher-weights", teacher,
     "--image-size", "32", "--resize", "32", "--epochs", "1", "--batch", "16", "--out", out] + extra
  }

  func testTheTeacherLabelsTheImagesTheFilterKeepsFewerAndAStudentIsWritten() throws {
    let (p, _) = try teacherProbabilities()
    let tau = middleThreshold(p)
    let confident = p.filter { $0.max()! >= tau }.count
    XCTAssertLessThan(confident, 64)
    XCTAssertGreaterThan(confident, 0)

    // No filter: every image, reported as kept of total, no accuracy (there are no labels).
    let all = root.appendingPathComponent("all").path
    let plain = try Executables.run("diswot", trainArguments(all, []))
    XCTAssertEqual(plain.status, 0, plain.standardError)
    XCTAssertTrue(plain.standardOutput.contains("pseudo-labels (filter none): kept 64 of 64 images (unlabelled, \(unlabelled.path))"), plain.standardOutput)
    XCTAssertFalse(plain.standardOutput.contains("of the kept"), plain.standardOutput)
    XCTAssertTrue(FileManager.default.fileExists(atPath: all + "/student.safetensors"))
    let report = try XCTUnwrap(try jsonFile(all + "/report.json")["pseudo_labels"] as? [String: Any])
    XCTAssertEqual(report["images"] as? Int, 64)
    XCTAssertEqual(report["kept"] as? Int, 64)
    XCTAssertEqual(report["unlabelled"] as? String, unlabelled.path)
    XCTAssertNil(report["accuracy"])
    XCTAssertNil(report["kept_accuracy"])
    // The run's spec names the directory, so --resume and --config find it again.
    let spec = try jsonFile(all + "/spec.json")
    XCTAssertEqual(spec["unlabelled"] as? String, unlabelled.path)
    XCTAssertEqual((spec["pseudo_labels"] as? [String: Any])?["filter"] as? String, "none")
    // So does the result's provenance: the images it trained on are part of how it was made.
    let provenance = try XCTUnwrap(try jsonFile(all + "/report.json")["spec"] as? [String: Any])
    XCTAssertEqual(provenance["unlabelled"] as? String, unlabelled.path)

    // Confidence: exactly the images whose teacher confidence reaches τ.
    let filtered = try Executables.run("diswot", trainArguments(root.appendingPathComponent("confident").path, ["--filter", "confidence:\(tau)", "--json"]))
    XCTAssertEqual(filtered.status, 0, filtered.standardError)
    let kept = try XCTUnwrap(try json(filtered.standardOutput)["pseudo_labels"] as? [String: Any])
    XCTAssertEqual(kept["images"] as? Int, 64)
    XCTAssertEqual(kept["kept"] as? Int, confident)
    XCTAssertEqual(kept["unlabelled"] as? String, unlabelled.path)
  }

  /// A labelled image folder with its labels withheld is streamed and labelled the same
  /// way, and there the true labels measure the pseudo-labels.
  func testAFolderWithItsLabelsIgnoredIsMeasuredAgainstThem() throws {
    let (p, labels) = try teacherProbabilities()
    let folder = root.appendingPathComponent("folder")
    try SyntheticImageFolder.writeImages(copying: data, to: folder, labelled: true)
    let tau = middleThreshold(p)
    func argmax(_ v: [Double]) -> Int { v.indices.max { v[$0] < v[$1] || (v[$0] == v[$1] && $0 > $1) }! }
    let right = p.indices.filter { argmax(p[$0]) == labels[$0] }
    let keptIndices = p.indices.filter { p[$0].max()! >= tau }
    let result = try Executables.run("diswot", [
      "train", "--student", "resnet8", "--data", "folder:\(folder.path)", "--teacher-weights", teacher, "--ignore-labels",
      "--filter", "confidence:\(tau)", "--image-size", "32", "--resize", "32", "--epochs", "1", "--batch", "16", "--json",
      "--out", root.appendingPathComponent("run").path,
    ])
    XCTAssertEqual(result.status, 0, result.standardError)
    let report = try XCTUnwrap(try json(result.standardOutput)["pseudo_labels"] as? [String: Any])
    XCTAssertEqual(report["images"] as? Int, 64)
    XCTAssertEqual(report["kept"] as? Int, keptIndices.count)
    XCTAssertNil(report["unlabelled"])
    XCTAssertEqual(try XCTUnwrap(report["accuracy"] as? Double), Double(right.count) / 64, accuracy: 1e-12)
    XCTAssertEqual(
      try XCTUnwrap(report["kept_accuracy"] as? Double),
      Double(keptIndices.filter { right.contains($0) }.count) / Double(keptIndices.count), accuracy: 1e-12)
  }

  /// Killed mid-epoch and resumed, the run relabels the directory as it first did and ends
  /// with the uninterrupted run's student, byte for byte.
  func testKilledAndResumedMatchesAnUninterruptedRun() throws {
    let tau = middleThreshold(try teacherProbabilities().p)
    let a = root.appendingPathComponent("a").path
    let settings = Array(trainArguments(a, ["--filter", "confidence:\(tau)"]).dropFirst())
      .replacingEpochsAndBatch(epochs: "2", batch: "4") + ["--checkpoint-every", "2"]
    let straight = try Executables.run("diswot", ["train"] + settings)
    XCTAssertEqual(straight.status, 0, straight.standardError)
    let b = root.appendingPathComponent("b").path
    let withoutOut = settings.removingOption("--out")
    XCTAssertTrue(try Executables.trainKilledMidEpoch(out: b, withoutOut), "the run finished before a mid-epoch checkpoint could be interrupted")
    let resumed = try Executables.run("diswot", ["train", "--resume", b, "--json"])
    XCTAssertEqual(resumed.status, 0, resumed.standardError)
    let report = try XCTUnwrap(try json(resumed.standardOutput)["pseudo_labels"] as? [String: Any])
    XCTAssertEqual(report["kept"] as? Int, (try jsonFile(a + "/report.json")["pseudo_labels"] as? [String: Any])?["kept"] as? Int)
    XCTAssertEqual(report["unlabelled"] as? String, unlabelled.path)
    XCTAssertEqual(
      try Data(contentsOf: URL(fileURLWithPath: b + "/student.safetensors")),
      try Data(contentsOf: URL(fileURLWithPath: a + "/student.safetensors")), "the same student, byte for byte")
  }

  func testMissingTeacherEmptyDirectoryAndBadImagesAreClearErrors() throws {
    func run(_ arguments: [String]) throws -> Executables.Result {
      let result = try Executables.run("diswot", arguments)
      XCTAssertFalse(result.crashed, result.standardError)
      return result
    }
    let out = { self.root.appendingPathComponent("run-\(UUID())").path }

    let noTeacher = try run(["train", "--student", "resnet8", "--data", "cifar10:\(data.path)", "--unlabelled", unlabelled.path, "--out", out()])
    XCTAssertEqual(noTeacher.status, 2, noTeacher.standardError)
    XCTAssertTrue(noTeacher.standardError.contains("--teacher-weights"), noTeacher.standardError)

    // Neither a file that is not an image nor an empty sub-folder is an image.
    let empty = root.appendingPathComponent("empty")
    try FileManager.default.createDirectory(at: empty.appendingPathComponent("sub"), withIntermediateDirectories: true)
    try Data("notes".utf8).write(to: empty.appendingPathComponent("notes.txt"))
    saveUnlabelled(empty) {
      let result = try run(trainArguments(out(), []))
      XCTAssertEqual(result.status, 3, result.standardError)
      XCTAssertTrue(result.standardError.contains("\(empty.path) holds no image files"), result.standardError)
    }
    saveUnlabelled(root.appendingPathComponent("missing")) {
      let result = try run(trainArguments(out(), []))
      XCTAssertEqual(result.status, 3, result.standardError)
      XCTAssertTrue(result.standardError.contains("is not a directory"), result.standardError)
    }

    // A corrupt image stops the run naming it, or is skipped and counted.
    let corrupt = unlabelled.appendingPathComponent("more/0999.png")
    try Data("not a png".utf8).write(to: corrupt)
    let stopped = try run(trainArguments(out(), []))
    XCTAssertEqual(stopped.status, 3, stopped.standardError)
    XCTAssertTrue(stopped.standardError.contains(corrupt.path), stopped.standardError)
    let skipped = try run(trainArguments(out(), ["--skip-bad-images", "--json"]))
    XCTAssertEqual(skipped.status, 0, skipped.standardError)
    XCTAssertTrue(skipped.standardError.contains("skipped \(corrupt.path)"), skipped.standardError)
    let result = try json(skipped.standardOutput)
    XCTAssertEqual(result["skipped_images"] as? Int, 1)
    XCTAssertEqual((result["pseudo_labels"] as? [String: Any])?["images"] as? Int, 64)
  }

  /// Runs `body` with `unlabelled` pointing elsewhere, then restores it.
  private func saveUnlabelled(_ other: URL, _ body: () throws -> Void) {
    let saved = unlabelled
    unlabelled = other
    defer { unlabelled = saved }
    XCTAssertNoThrow(try body())
  }
}

private extension Array where Element == String {
  /// The arguments with the values of --epochs and --batch replaced.
  func replacingEpochsAndBatch(epochs: String, batch: String) -> [String] {
    var out = self
    for (option, value) in [("--epochs", epochs), ("--batch", batch)] {
      if let i = out.firstIndex(of: option) { out[i + 1] = value }
    }
    return out
  }

  /// The arguments without `option` and its value.
  func removingOption(_ option: String) -> [String] {
    guard let i = firstIndex(of: option) else { return self }
    return Array(self[..<i] + self[(i + 2)...])
  }
}
