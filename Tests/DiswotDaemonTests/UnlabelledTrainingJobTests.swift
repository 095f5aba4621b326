import DiswotJSON
import DiswotTestSupport
import DiswotWire
import Foundation
import XCTest

/// A daemon training job on unlabelled images (`train.start` with `unlabelled` and
/// `pseudo_labels`): the directory is confined to the data root like `data`, and the job's
/// result reports what the teacher labelled and kept.
final class UnlabelledTrainingJobTests: XCTestCase {
  func testAJobLabelsTheDirectoryAndADirectoryOutsideTheRootIsRefused() throws {
    let dir = try scratchDirectory(self)
    let cifar = try SyntheticCIFAR.write(train: 24, test: 8)
    defer { try? FileManager.default.removeItem(at: cifar) }
    let data = dir.appendingPathComponent("cifar")
    try FileManager.default.copyItem(at: cifar, to: data)
    let images = dir.appendingPathComponent("unlabelled")
    XCTAssertEqual(try SyntheticImageFolder.writeImages(copying: data, to: images), 24)
    let teacher = dir.appendingPathComponent("resnet8.safetensors").path
    let export = try runCommand("diswot", ["export", "--model", "resnet8", "--out", dir.appendingPathComponent("resnet8.py").path, "--weights-out", teacher])
    XCTAssertEqual(export.status, 0, export.stderr)
    let daemon = try DaemonUnderTest(
      state: dir.appendingPathComponent("state"), dataRoot: dir, localWorkers: 1, log: dir.appendingPathComponent("daemon.log"))
    defer { daemon.child.stop() }

    // Checked here first: the images need a teacher to label them, and must exist.
    let noTeacher = try runCommand("diswot", [
      "train", "start", "--daemon", daemon.client, "--student", "resnet8", "--data", "cifar10:\(data.path)", "--unlabelled", images.path,
    ])
    XCTAssertEqual(noTeacher.status, 2, noTeacher.stderr)
    let missing = try runCommand("diswot", [
      "train", "start", "--daemon", daemon.client, "--student", "resnet8", "--data", "cifar10:\(data.path)",
      "--unlabelled", dir.appendingPathComponent("missing").path, "--teacher-weights", teacher,
    ])
    XCTAssertEqual(missing.status, 3, missing.stderr)
    XCTAssertTrue(missing.stderr.contains("unlabelled image directory \(dir.path)/missing does not exist"), missing.stderr)

    let job = try runCommand("diswot", [
      "train", "start", "--daemon", daemon.client, "--student", "resnet8", "--data", "cifar10:\(data.path)", "--unlabelled", images.path,
      "--teacher-weights", teacher, "--image-size", "32", "--epochs", "1", "--batch", "8", "--wait", "--json",
    ], timeout: 300)
    XCTAssertEqual(job.status, 0, "\(job.stderr)\n\(job.stdout)")
    let pseudo = try XCTUnwrap(job.json?["result"]["pseudo_labels"], job.stdout)
    XCTAssertEqual(pseudo["images"], 24)
    XCTAssertEqual(pseudo["kept"], 24, "filter none keeps every image")
    XCTAssertEqual(pseudo["filter"], "none")
    XCTAssertTrue(pseudo["unlabelled"].stringValue?.hasSuffix("/unlabelled") ?? false, pseudo.compactText)
    XCTAssertNil(pseudo.objectValue?["accuracy"], "no labels, no accuracy")

    let pirate = try daemon.pirate()
    var spec = RequestCheckTests.trainSpec
    spec["data"] = .string("cifar10:\(data.path)")
    spec["distill"] = "kd"
    spec["weights"] = ["crossEntropy": 0.1, "kd": 0.9, "feature": 0, "temperature": 4]
    spec["teacher"] = ["weights": .string(teacher)]
    spec["pseudo_labels"] = ["filter": "none"]
    spec["unlabelled"] = "/etc"
    guard case .error(let error) = try pirate.call(.trainStart, body: ["spec": .object(spec)]) else {
      return XCTFail("a directory outside the data root was accepted")
    }
    XCTAssertEqual(error.code, .invalidArgument)
    XCTAssertTrue(error.message.contains("spec.unlabelled /etc is outside the daemon's data root"), error.message)
  }
}
