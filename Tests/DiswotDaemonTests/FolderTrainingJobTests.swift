import DiswotJSON
import DiswotTestSupport
import DiswotWire
import Foundation
import XCTest

/// A daemon training job from an image folder (`train.start` with `folder:DIR`,
/// `image_size` and `skip_bad_images`): run by a local worker, which streams the folder,
/// skips the bad image and counts it in the job's result.
final class FolderTrainingJobTests: XCTestCase {
  func testATrainingJobStreamsAFolderAndCountsItsBadImage() throws {
    let dir = try scratchDirectory(self)
    let folder = try SyntheticImageFolder.write(at: dir.appendingPathComponent("images"), train: 12, test: 4)
    try Data("not an image".utf8).write(to: folder.appendingPathComponent("train/c1/broken.png"))
    let daemon = try DaemonUnderTest(
      state: dir.appendingPathComponent("state"), dataRoot: dir, localWorkers: 1, log: dir.appendingPathComponent("daemon.log"))
    defer { daemon.child.stop() }
    let pirate = try daemon.pirate()
    let start = try runCommand("diswot", [
      "train", "start", "--daemon", daemon.client, "--student", "resnet8", "--data", "folder:\(folder.path)", "--image-size", "16",
      "--epochs", "1", "--batch", "8", "--skip-bad-images", "--json",
    ])
    XCTAssertEqual(start.status, 0, start.stderr)
    let id = try XCTUnwrap(start.json?["id"].stringValue)
    try waitUntil(120, "the job to end") {
      let state = ask(pirate, .trainStatus, ["id": .string(id)])?["state"].stringValue
      return state != nil && state != "queued" && state != "running"
    }
    let status = try XCTUnwrap(ask(pirate, .trainStatus, ["id": .string(id)]))
    XCTAssertEqual(status["state"], "finished", "\(status.compactText)\n\(daemon.child.logText)")
    XCTAssertEqual(status["result"]["skipped_images"], 1)
    XCTAssertEqual(status["result"]["test_samples"], 9, "4 PNGs per class and the JPEG")
    XCTAssertTrue(daemon.child.logText.contains("skipped \(folder.path)/train/c1/broken.png"), daemon.child.logText)
  }
}
