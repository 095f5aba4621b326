import DiswotTestSupport
import Foundation
import XCTest

/// `--data folder:DIR` through the real executables: training streamed from a folder of
/// PNG and JPEG files, its resume after kill -9, evaluation, `--resize`, and bad images
/// named or skipped and counted in `train`, `eval` and `score`.
final class ImageFolderCommandTests: XCTestCase {
  private var cleanup: [URL] = []

  override func tearDown() {
    for url in cleanup { try? FileManager.default.removeItem(at: url) }
    cleanup = []
  }

  private func folder(train: Int, test: Int, width: Int = 24, height: Int = 20) throws -> URL {
    let root = try SyntheticImageFolder.write(train: train, test: test, width: width, height: height)
    cleanup.append(root)
    return root
  }

  private func temporary(_ name: String) -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-\(name)-\(UUID())")
    cleanup.append(url)
    return url.path
  }

  private func json(_ text: String) throws -> [String: Any] {
    try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
  }

  func testTrainsAnEpochFromAFolderAndEvalAgreesWithIt() throws {
    let data = try folder(train: 24, test: 6)
    let out = temporary("train")
    let train = try Executables.run("diswot", [
      "train", "--student", "resnet8", "--data", "folder:\(data.path)", "--epochs", "1", "--batch", "8",
      "--image-size", "16", "--out", out, "--json",
    ])
    XCTAssertEqual(train.status, 0, train.standardError)
    let result = try json(train.standardOutput)
    XCTAssertEqual(result["test_samples"] as? Int, 13, "6 PNGs per class and the JPEG")
    XCTAssertEqual(result["skipped_images"] as? Int, 0)
    let spec = try json(String(contentsOfFile: out + "/spec.json", encoding: .utf8))
    XCTAssertEqual(spec["image_size"] as? Int, 16)
    XCTAssertNil(spec["skip_bad_images"], "absent unless asked for")
    XCTAssertEqual(try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").count, 1)

    // The student through `diswot eval`: the same test images (Resize 18 + CenterCrop 16), the same hits.
    let eval = try Executables.run("diswot", [
      "eval", "--weights", out + "/student.safetensors", "--data", "folder:\(data.path)", "--image-size", "16", "--json",
    ])
    XCTAssertEqual(eval.status, 0, eval.standardError)
    let report = try json(eval.standardOutput)
    XCTAssertEqual(report["samples"] as? Int, 13)
    XCTAssertEqual(report["correct"] as? Int, result["test_correct"] as? Int)
    XCTAssertEqual(report["preprocessing"] as? String, "images resized to 18 on the shorter side and centre-cropped to 16×16")

    // --resize replaces the 8/7 rule; below the crop it is a usage error.
    let resized = try Executables.run("diswot", [
      "eval", "--weights", out + "/student.safetensors", "--data", "folder:\(data.path)", "--image-size", "16",
      "--resize", "16", "--json",
    ])
    XCTAssertEqual(resized.status, 0, resized.standardError)
    XCTAssertEqual(try json(resized.standardOutput)["preprocessing"] as? String, "images resized to 16 on the shorter side and centre-cropped to 16×16")
    let tooSmall = try Executables.run("diswot", [
      "eval", "--weights", out + "/student.safetensors", "--data", "folder:\(data.path)", "--image-size", "16", "--resize", "12",
    ])
    XCTAssertEqual(tooSmall.status, 2, tooSmall.standardError)
    XCTAssertTrue(tooSmall.standardError.contains("resize 12 is smaller than the 16×16 crop"), tooSmall.standardError)
    let notAFolder = try Executables.run("diswot", [
      "train", "--student", "resnet8", "--data", "cifar10:\(data.path)", "--resize", "40", "--out", temporary("refused"),
    ])
    XCTAssertEqual(notAFolder.status, 2, notAFolder.standardError)
    XCTAssertTrue(notAFolder.standardError.contains("resize applies to image folders"), notAFolder.standardError)
  }

  /// As for CIFAR (TrainCommandTests): kill -9 mid-epoch, resume, and the student is the
  /// uninterrupted run's byte for byte — the random-resized crops of every position are
  /// rebuilt from (seed, epoch, position), whichever batch the run restarts at.
  func testKilledMidEpochThenResumedMatchesAnUninterruptedRun() throws {
    let data = try folder(train: 96, test: 8, width: 40, height: 36)
    let settings = ["--student", "resnet8", "--data", "folder:\(data.path)", "--epochs", "3", "--batch", "16",
                    "--schedule", "cosine", "--checkpoint-every", "4", "--seed", "3", "--json"]
    let a = temporary("folder-a")
    let straight = try Executables.run("diswot", ["train", "--out", a] + settings)
    XCTAssertEqual(straight.status, 0, straight.standardError)

    let b = temporary("folder-b")
    XCTAssertTrue(try Executables.trainKilledMidEpoch(out: b, settings, seconds: 300), "the run finished before a mid-epoch checkpoint could be interrupted")
    let resumed = try Executables.run("diswot", ["train", "--resume", b, "--json"])
    XCTAssertEqual(resumed.status, 0, resumed.standardError)
    XCTAssertEqual(try json(resumed.standardOutput)["test_correct"] as? Int, try json(straight.standardOutput)["test_correct"] as? Int)
    XCTAssertEqual(
      try Data(contentsOf: URL(fileURLWithPath: b + "/student.safetensors")),
      try Data(contentsOf: URL(fileURLWithPath: a + "/student.safetensors")), "the same student, byte for byte")
  }

  func testABadImageIsNamedOrSkippedAndCounted() throws {
    let data = try folder(train: 10, test: 4)
    let broken = data.appendingPathComponent("train/c1/broken.png").path
    let truncated = data.appendingPathComponent("val/c0/cut.jpg").path
    try Data("not an image at all".utf8).write(to: URL(fileURLWithPath: broken))
    try Data(contentsOf: SyntheticImageFolder.jpegFixture).prefix(300).write(to: URL(fileURLWithPath: truncated))

    // train: the first bad image stops the run, named; skipped, both are counted once
    // although every epoch meets them.
    let base = ["train", "--student", "resnet8", "--data", "folder:\(data.path)", "--batch", "8", "--image-size", "16", "--json"]
    let stopped = try Executables.run("diswot", base + ["--epochs", "1", "--out", temporary("bad")])
    XCTAssertEqual(stopped.status, 3, stopped.standardError)
    XCTAssertTrue(stopped.standardError.contains(broken) && stopped.standardError.contains("--skip-bad-images"), stopped.standardError)
    let skipped = try Executables.run("diswot", base + ["--epochs", "2", "--skip-bad-images", "--out", temporary("skip")])
    XCTAssertEqual(skipped.status, 0, skipped.standardError)
    let result = try json(skipped.standardOutput)
    XCTAssertEqual(result["skipped_images"] as? Int, 2)
    XCTAssertEqual(result["test_samples"] as? Int, 9, "4 PNGs per class and the whole JPEG; the cut one left out")
    XCTAssertTrue(skipped.standardError.contains("skipped \(broken)") && skipped.standardError.contains("skipped \(truncated)"), skipped.standardError)

    // eval.
    let weights = try XCTUnwrap(result["student"] as? String)
    let evalBase = ["eval", "--weights", weights, "--data", "folder:\(data.path)", "--image-size", "16", "--json"]
    let evalStopped = try Executables.run("diswot", evalBase)
    XCTAssertEqual(evalStopped.status, 3, evalStopped.standardError)
    XCTAssertTrue(evalStopped.standardError.contains(truncated), evalStopped.standardError)
    let evalSkipped = try Executables.run("diswot", evalBase + ["--skip-bad-images"])
    XCTAssertEqual(evalSkipped.status, 0, evalSkipped.standardError)
    XCTAssertEqual(try json(evalSkipped.standardOutput)["skipped"] as? Int, 1)

    // score: a probe batch of all 22 train images meets the bad one; skipping, a batch of
    // 16 draws 16 + 16/8 + 8 ≥ 22 images, so it meets it too and replaces it.
    let score = ["score", "--space", "resnet-cifar-depth", "--teacher", "resnet20", "--classes", "2",
                 "--arch", #"{"depths":[3,1,5],"widths":[16,32,64]}"#, "--proxies", "nwot", "--data", "folder:\(data.path)", "--jsonl", "-"]
    let scoreStopped = try Executables.run("diswot", score + ["--batch", "22"])
    XCTAssertEqual(scoreStopped.status, 3, scoreStopped.standardError)
    XCTAssertTrue(scoreStopped.standardError.contains(broken), scoreStopped.standardError)
    let scoreSkipped = try Executables.run("diswot", score + ["--batch", "16", "--skip-bad-images"])
    XCTAssertEqual(scoreSkipped.status, 0, scoreSkipped.standardError)
    XCTAssertTrue(scoreSkipped.standardError.contains("1 bad image skipped of 22 read"), scoreSkipped.standardError)
  }
}
