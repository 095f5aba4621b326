import DiswotTensor
import DiswotTestSupport
import Foundation
import XCTest

/// `diswot train --ignore-labels --filter …` end to end: the pseudo-labels and the kept set
/// are checked against the teacher's own logits from `diswot eval --logits` on the same
/// training images, computed here independently.
final class PseudoLabelTrainCommandTests: XCTestCase {
  private var root: URL!
  private var data: URL!

  override func setUpWithError() throws {
    root = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-pseudo-\(UUID())")
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    data = try SyntheticCIFAR.write(train: 64, test: 16)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: root)
    try? FileManager.default.removeItem(at: data)
  }

  private func json(_ text: String) throws -> [String: Any] {
    try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
  }

  /// Each training image's softmax (T = 1) under `teacher` and its true label.
  private func teacherProbabilities(_ teacher: String) throws -> (p: [[Double]], labels: [Int]) {
    let path = root.appendingPathComponent("logits-\(UUID()).safetensors").path
    let eval = try Executables.run("diswot", ["eval", "--weights", teacher, "--data", "cifar10:\(data.path)", "--split", "train", "--logits", path])
    XCTAssertEqual(eval.status, 0, eval.standardError)
    let file = try SafetensorsFile.read(path: path)
    let logits = try XCTUnwrap(file.tensors["logits"])
    let labels = try XCTUnwrap(file.tensors["labels"]).storage.map { Int($0) }
    let k = logits.shape[1]
    let p = (0..<logits.shape[0]).map { i -> [Double] in
      let row = logits.storage[(i * k)..<((i + 1) * k)].map(Double.init)
      let e = row.map { exp($0 - row.max()!) }
      return e.map { $0 / e.reduce(0, +) }
    }
    return (p, labels)
  }

  private func argmax(_ v: [Double]) -> Int { v.indices.max { v[$0] < v[$1] || (v[$0] == v[$1] && $0 > $1) }! }

  private func train(_ teachers: [String], _ extra: [String]) throws -> [String: Any] {
    let result = try Executables.run("diswot", [
      "train", "--student", "resnet8", "--data", "cifar10:\(data.path)", "--epochs", "1", "--batch", "16", "--json",
      "--teacher-weights", teachers.joined(separator: ","), "--ignore-labels", "--out", root.appendingPathComponent("run-\(UUID())").path,
    ] + extra)
    XCTAssertEqual(result.status, 0, result.standardError)
    return try XCTUnwrap(try json(result.standardOutput)["pseudo_labels"] as? [String: Any], result.standardOutput)
  }

  func testConfidenceAndEntropyFiltersKeepWhatTheTeachersOutputsSay() throws {
    let teacher = try FormulaTeacher.trained
    let (p, labels) = try teacherProbabilities(teacher)
    let pseudo = p.map(argmax)
    let allAccuracy = Double(zip(pseudo, labels).filter { $0 == $1 }.count) / Double(labels.count)
    let median = p.map { $0.max()! }.sorted()[p.count / 2]
    let entropies = p.map { q in -q.reduce(0) { $0 + ($1 > 0 ? $1 * log($1) : 0) } }
    let entropyCut = entropies.sorted()[p.count / 3]
    for (filter, keep) in [
      ("none", { (_: Int) in true }),
      ("confidence:\(median)", { (i: Int) in p[i].max()! >= median }),
      ("entropy:\(entropyCut)", { (i: Int) in entropies[i] <= entropyCut }),
    ] {
      let report = try train([teacher], ["--filter", filter])
      let kept = p.indices.filter(keep)
      XCTAssertEqual(report["images"] as? Int, 64, filter)
      XCTAssertEqual(report["kept"] as? Int, kept.count, filter)
      XCTAssertGreaterThan(kept.count, 0)
      XCTAssertEqual(try XCTUnwrap(report["accuracy"] as? Double), allAccuracy, accuracy: 1e-12, filter)
      let keptAccuracy = Double(kept.filter { pseudo[$0] == labels[$0] }.count) / Double(kept.count)
      XCTAssertEqual(try XCTUnwrap(report["kept_accuracy"] as? Double), keptAccuracy, accuracy: 1e-12, filter)
      XCTAssertTrue((report["filter"] as? String ?? "").hasPrefix(filter.split(separator: ":").first.map(String.init) ?? ""))
    }
  }

  /// `agreement` keeps the images on which both teachers' own top class is the same. The
  /// second teacher is the first with its most frequent top class c and c + 1 swapped in
  /// the head: they agree exactly where the first's top class is neither.
  func testAgreementKeepsWhereTheTeachersAgree() throws {
    let (p0, _) = try teacherProbabilities(try FormulaTeacher.trained)
    let tops = p0.map(argmax)
    let c = (0..<10).max { a, b in tops.filter { $0 == a }.count < tops.filter { $0 == b }.count }!
    let file = try SafetensorsFile.read(path: try FormulaTeacher.trained)
    var tensors = file.names.map { (name: $0, tensor: file.tensors[$0]!) }
    for i in tensors.indices where tensors[i].name.hasPrefix("linear.") {
      var storage = tensors[i].tensor.storage
      let row = storage.count / 10
      for j in 0..<row { storage.swapAt(c * row + j, (c + 1) % 10 * row + j) }
      tensors[i].tensor = try Tensor(shape: tensors[i].tensor.shape, storage: storage)
    }
    let other = root.appendingPathComponent("swapped.safetensors").path
    try SafetensorsFile.write(path: other, tensors: tensors, metadata: [:])
    let teachers = [try FormulaTeacher.trained, other]
    let (p1, _) = try teacherProbabilities(teachers[1])
    let agreeing = p0.indices.filter { argmax(p0[$0]) == argmax(p1[$0]) }.count
    XCTAssertEqual(agreeing, tops.filter { ![c, (c + 1) % 10].contains($0) }.count)
    XCTAssertGreaterThan(agreeing, 0)
    XCTAssertLessThan(agreeing, 64, "the swap should leave some images disputed on this synthetic set")
    let report = try train(teachers, ["--filter", "agreement"])
    XCTAssertEqual(report["kept"] as? Int, agreeing)
  }

  /// Killed mid-epoch and resumed, a pseudo-label run relabels exactly as it first did and
  /// ends with the uninterrupted run's student, byte for byte.
  func testKilledAndResumedMatchesAnUninterruptedRun() throws {
    let args = [
      "--student", "resnet8", "--data", "cifar10:\(data.path)", "--epochs", "2", "--batch", "8", "--json", "--checkpoint-every", "2",
      "--teacher-weights", try FormulaTeacher.trained, "--ignore-labels", "--filter", "entropy:1.5",
    ]
    let a = root.appendingPathComponent("a").path
    let straight = try Executables.run("diswot", ["train", "--out", a] + args)
    XCTAssertEqual(straight.status, 0, straight.standardError)
    let b = root.appendingPathComponent("b").path
    XCTAssertTrue(try Executables.trainKilledMidEpoch(out: b, args), "the run finished before a mid-epoch checkpoint could be interrupted")
    let resumed = try Executables.run("diswot", ["train", "--resume", b, "--json"])
    XCTAssertEqual(resumed.status, 0, resumed.standardError)
    let (want, got) = (try json(straight.standardOutput)["pseudo_labels"] as? [String: Any], try json(resumed.standardOutput)["pseudo_labels"] as? [String: Any])
    XCTAssertEqual(got?["kept"] as? Int, want?["kept"] as? Int)
    XCTAssertEqual(got?["kept_accuracy"] as? Double, want?["kept_accuracy"] as? Double)
    XCTAssertEqual(
      try Data(contentsOf: URL(fileURLWithPath: b + "/student.safetensors")),
      try Data(contentsOf: URL(fileURLWithPath: a + "/student.safetensors")), "the same student, byte for byte")
  }

  func testBadFiltersAreUsageErrors() throws {
    let teacher = try FormulaTeacher.trained
    for extra in [
      ["--ignore-labels", "--filter", "confidence:0"], ["--ignore-labels", "--filter", "confidence:1.5"],
      ["--ignore-labels", "--filter", "entropy:-1"], ["--ignore-labels", "--filter", "bogus"],
      ["--ignore-labels", "--filter", "agreement"], ["--filter", "none"],
    ] {
      let result = try Executables.run("diswot", [
        "train", "--student", "resnet8", "--data", "cifar10:\(data.path)", "--teacher-weights", teacher,
        "--out", root.appendingPathComponent("bad").path,
      ] + extra)
      XCTAssertFalse(result.crashed)
      XCTAssertEqual(result.status, 2, "\(extra): \(result.standardError)")
    }
    let noTeacher = try Executables.run("diswot", [
      "train", "--student", "resnet8", "--data", "cifar10:\(data.path)", "--ignore-labels", "--out", root.appendingPathComponent("bad").path,
    ])
    XCTAssertEqual(noTeacher.status, 2, noTeacher.standardError)
  }
}
