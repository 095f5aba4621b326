import DiswotDistillation
import DiswotJSON
import DiswotTensor
import Foundation
import XCTest

/// A fresh directory under the system's temporary directory, removed by the test's teardown.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> String {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-distillation-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
  return url.path
}

final class TrainingStateTests: XCTestCase {
  private func sampleState() throws -> TrainingState {
    let problem = Quadratic.twoParameters()
    var sgd = SGD.repDistillerCIFAR()
    for _ in 0..<3 {
      problem.computeGradients()
      try sgd.step(learningRate: 0.05, problem)
    }
    var rng = SeededGenerator(seed: .max)
    _ = rng.next()
    return TrainingState(
      epoch: 12, stepInEpoch: 301, globalStep: 12 * 782 + 301, seed: 0xFFFF_FFFF_FFFF_FFF1,
      optimizer: sgd.state, schedule: .repDistillerCIFAR, randomGenerators: ["init": rng],
      bestTestAccuracy: 0.7123, bestEpoch: 11,
      configuration: ["student": "resnet20", "teacher": "resnet56", "alpha": 0.9, "batch_size": 64])
  }

  func testRoundTrip() throws {
    let directory = try makeTemporaryDirectory(self)
    let path = directory + "/state.json"
    let state = try sampleState()
    try state.write(to: path)
    let read = try TrainingState.read(from: path)
    XCTAssertEqual(read, state)
    XCTAssertEqual(read.formatVersion, TrainingState.currentFormatVersion)
    XCTAssertEqual(read.randomGenerators["init"]?.state, state.randomGenerators["init"]?.state, "64-bit words exact")
    XCTAssertEqual(read.seed, 0xFFFF_FFFF_FFFF_FFF1)
    // Overwriting replaces the file and leaves no temporary files behind.
    var later = state
    later.epoch = 13
    later.stepInEpoch = 0
    try later.write(to: path)
    XCTAssertEqual(try TrainingState.read(from: path).epoch, 13)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["state.json"])
    // Fields a reader of the file sees.
    let json = JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
    guard case .object(let fields)? = json else { return XCTFail("not a JSON object") }
    XCTAssertEqual(fields["format_version"], 1)
    XCTAssertEqual(fields["step_in_epoch"], 0)
    XCTAssertNotNil(fields["optimizer"])
  }

  func testResumeFromStateContinuesExactly() throws {
    // Optimiser and schedule from a checkpoint give the same parameters as no interruption.
    let schedule = try LearningRateSchedule(parsing: "cosine+warmup:1+per-step", baseLearningRate: 0.1, totalEpochs: 3)
    let stepsPerEpoch = 4
    func train(_ problem: Quadratic, _ sgd: inout SGD, from: Int, to: Int) throws {
      for step in from..<to {
        problem.computeGradients()
        try sgd.step(
          learningRate: schedule.learningRate(epoch: step / stepsPerEpoch, step: step % stepsPerEpoch, stepsPerEpoch: stepsPerEpoch),
          problem)
      }
    }
    let reference = Quadratic.twoParameters()
    var uninterrupted = try SGD(momentum: 0.9, weightDecay: 5e-4)
    try train(reference, &uninterrupted, from: 0, to: 12)

    let directory = try makeTemporaryDirectory(self)
    let resumed = Quadratic.twoParameters()
    var before = try SGD(momentum: 0.9, weightDecay: 5e-4)
    try train(resumed, &before, from: 0, to: 6)
    try TrainingState(epoch: 1, stepInEpoch: 2, globalStep: 6, seed: 1, optimizer: before.state, schedule: schedule)
      .write(to: directory + "/state.json")
    let state = try TrainingState.read(from: directory + "/state.json")
    XCTAssertEqual(state.schedule, schedule)
    var after = try SGD(momentum: 0.9, weightDecay: 5e-4)
    try after.restore(state.optimizer)
    try train(resumed, &after, from: state.globalStep, to: 12)
    XCTAssertEqual(resumed.flat, reference.flat)
  }

  func testErrors() throws {
    let directory = try makeTemporaryDirectory(self)
    let path = directory + "/state.json"
    XCTAssertThrowsError(try TrainingState.read(from: path)) { error in
      XCTAssertEqual(error as? TrainingStateError, .missing(path: path))
    }
    func expectCorrupt(_ text: String, mentioning fragment: String, line: UInt = #line) throws {
      try Data(text.utf8).write(to: URL(fileURLWithPath: path))
      XCTAssertThrowsError(try TrainingState.read(from: path), line: line) { error in
        guard case .corrupt(let p, let reason)? = error as? TrainingStateError else {
          return XCTFail("\(error)", line: line)
        }
        XCTAssertEqual(p, path, line: line)
        XCTAssertTrue(reason.contains(fragment), "\(reason)", line: line)
        XCTAssertTrue("\(error)".contains("is corrupt"), line: line)
      }
    }
    try expectCorrupt("{\"format_version\": 1, \"epoch\": ", mentioning: "not valid JSON")
    try expectCorrupt("", mentioning: "not valid JSON")
    try expectCorrupt("[1, 2]", mentioning: "the top level is not a JSON object")
    try expectCorrupt("{\"epoch\": 3}", mentioning: "format_version")
    try expectCorrupt("{\"format_version\": 1, \"epoch\": 3}", mentioning: "missing field")
    // A truncated checkpoint (a crash while copying it by hand, say).
    try sampleState().write(to: path)
    let full = try Data(contentsOf: URL(fileURLWithPath: path))
    try expectCorrupt(String(decoding: full.prefix(full.count / 2), as: UTF8.self), mentioning: "not valid JSON")
    // A field of the wrong type is named.
    let text = String(decoding: full, as: UTF8.self).replacingOccurrences(of: "\"epoch\" : 12", with: "\"epoch\" : \"twelve\"")
    XCTAssertNotEqual(text, String(decoding: full, as: UTF8.self))
    try expectCorrupt(text, mentioning: "'epoch'")
    // Momentum buffers with the wrong byte count.
    try expectCorrupt(
      String(decoding: full, as: UTF8.self).replacingOccurrences(of: "\"count\" : 1", with: "\"count\" : 3"),
      mentioning: "optimizer.momentum_buffers[0]")
    // A newer format.
    try Data("{\"format_version\": 7}".utf8).write(to: URL(fileURLWithPath: path))
    XCTAssertThrowsError(try TrainingState.read(from: path)) { error in
      XCTAssertEqual(error as? TrainingStateError, .unsupportedVersion(path: path, version: 7, supported: 1))
    }
    // An unwritable place.
    XCTAssertThrowsError(try sampleState().write(to: directory + "/no/such/dir/state.json")) { error in
      guard case .io? = error as? TrainingStateError else { return XCTFail("\(error)") }
    }
  }
}

final class MetricsLogTests: XCTestCase {
  private let entries = [
    EpochMetrics(epoch: 0, learningRate: 0.05, losses: ["ce": 2.25, "kd": 1.5, "total": 3.75],
                 trainAccuracy: 0.25, testAccuracy: 0.375, imagesPerSecond: 812.5, seconds: 61.5),
    EpochMetrics(epoch: 1, learningRate: 0.05, losses: ["total": 1.125], imagesPerSecond: 800, seconds: 62),
    EpochMetrics(epoch: 2, learningRate: 0.005, losses: [:], trainAccuracy: 1, testAccuracy: 0.5, imagesPerSecond: 1, seconds: 0.25),
  ]

  func testRoundTripAndReopen() throws {
    let directory = try makeTemporaryDirectory(self) + "/run"  // created by the log
    var log: MetricsLog? = try MetricsLog(directory: directory)
    try log!.append(entries[0])
    try log!.append(entries[1])
    log = nil
    let reopened = try MetricsLog(directory: directory)
    try reopened.append(entries[2])
    XCTAssertEqual(try MetricsLog.read(directory: directory), entries)
    // One compact JSON object per line with the documented keys.
    let text = try String(contentsOfFile: directory + "/metrics.jsonl", encoding: .utf8)
    let lines = text.split(separator: "\n")
    XCTAssertEqual(lines.count, 3)
    XCTAssertEqual(
      lines[0],
      #"{"epoch":0,"images_per_second":812.5,"losses":{"ce":2.25,"kd":1.5,"total":3.75},"lr":0.05,"seconds":61.5,"test_accuracy":0.375,"train_accuracy":0.25}"#)
    reopened.close()
    XCTAssertThrowsError(try reopened.append(entries[0]))
  }

  func testNonFiniteLosses() throws {
    let directory = try makeTemporaryDirectory(self)
    try MetricsLog(directory: directory).append(
      EpochMetrics(epoch: 0, learningRate: 0.1, losses: ["total": .nan, "kd": .infinity], imagesPerSecond: 1, seconds: 1))
    let read = try MetricsLog.read(directory: directory)
    XCTAssertTrue(read[0].losses["total"]!.isNaN)
    XCTAssertTrue(read[0].losses["kd"]!.isNaN, "null: no number")
    XCTAssertTrue(try String(contentsOfFile: MetricsLog.path(directory: directory), encoding: .utf8)
      .contains(#""losses":{"kd":null,"total":null}"#))
    // Logs of older versions wrote strings; they still read.
    try Data(#"{"epoch":1,"images_per_second":1,"losses":{"total":"nan"},"lr":"inf","seconds":1}"#.utf8 + [10])
      .write(to: URL(fileURLWithPath: MetricsLog.path(directory: directory)))
    XCTAssertEqual(try MetricsLog.read(directory: directory)[0].learningRate, .infinity)
  }

  func testTornLastLine() throws {
    let directory = try makeTemporaryDirectory(self)
    let path = MetricsLog.path(directory: directory)
    try MetricsLog(directory: directory).append(entries[0])
    // A crash in the middle of the second line.
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    handle.seekToEndOfFile()
    handle.write(Data(#"{"epoch":1,"lr":0.0"#.utf8))
    handle.closeFile()
    XCTAssertEqual(try MetricsLog.read(path: path), [entries[0]])
    // Reopening cuts the torn line off, so the next line starts cleanly.
    try MetricsLog(directory: directory).append(entries[1])
    XCTAssertEqual(try MetricsLog.read(path: path), [entries[0], entries[1]])
  }

  func testCorruptLineIsNamed() throws {
    let directory = try makeTemporaryDirectory(self)
    let path = MetricsLog.path(directory: directory)
    try MetricsLog(directory: directory).append(entries[0])
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    handle.seekToEndOfFile()
    handle.write(Data("{\"epoch\": 1}\n".utf8))
    handle.closeFile()
    XCTAssertThrowsError(try MetricsLog.read(path: path)) { error in
      guard case .corrupt(_, let line, let reason)? = error as? MetricsLogError else { return XCTFail("\(error)") }
      XCTAssertEqual(line, 2)
      XCTAssertTrue(reason.contains("missing field"), reason)
    }
    XCTAssertThrowsError(try MetricsLog.read(directory: directory + "/absent")) { error in
      XCTAssertEqual(error as? MetricsLogError, .missing(path: directory + "/absent/metrics.jsonl"))
    }
  }

  func testDiscardingFromEpochOnResume() throws {
    let directory = try makeTemporaryDirectory(self)
    let log = try MetricsLog(directory: directory)
    for entry in entries { try log.append(entry) }
    log.close()
    // Resuming from a checkpoint taken at the start of epoch 1: epochs 1 and 2 rerun.
    let resumed = try MetricsLog(directory: directory, discardingFromEpoch: 1)
    XCTAssertEqual(try MetricsLog.read(directory: directory), [entries[0]])
    try resumed.append(entries[1])
    XCTAssertEqual(try MetricsLog.read(directory: directory), [entries[0], entries[1]])
    // Nothing to discard in a new directory.
    XCTAssertNoThrow(try MetricsLog(directory: directory + "/new", discardingFromEpoch: 0))
  }
}
