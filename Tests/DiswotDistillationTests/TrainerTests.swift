import DiswotDistillation
import DiswotModels
import DiswotTensor
import DiswotTestSupport
import XCTest

final class TrainerTests: XCTestCase {
  func temporaryDirectory() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("diswot-train-\(UUID())").path
  }

  /// A few epochs on a few hundred images: the loss falls and test accuracy rises.
  func testShortTrainingLearns() throws {
    let data = try SyntheticCIFAR.write(train: 320, test: 160)
    defer { try? FileManager.default.removeItem(at: data) }
    let out = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: out) }
    let spec = TrainingSpec(
      student: .init(name: "resnet8"), data: "cifar10:\(data.path)", epochs: 3, batch: 32, learningRate: 0.05,
      schedule: "cosine", seed: 1)
    let result = try Trainer(spec: spec, directory: out, resume: false).run()
    let metrics = try MetricsLog.read(directory: out)
    XCTAssertEqual(metrics.map(\.epoch), [0, 1, 2])
    XCTAssertLessThan(metrics.last!.losses["total"]!, metrics.first!.losses["total"]!, "loss falls")
    XCTAssertGreaterThan(metrics.last!.testAccuracy!, metrics.first!.testAccuracy!, "accuracy rises")
    XCTAssertGreaterThan(result.testAccuracy, 0.3, "well above chance (0.1)")
    XCTAssertEqual(result.testAccuracy, metrics.last!.testAccuracy)
    // The exported student reloads by name and scores the same.
    let file = try SafetensorsFile.read(path: result.studentPath)
    XCTAssertEqual(file.metadata["arch"], "resnet8")
    XCTAssertNoThrow(try ModelZoo.load(file, name: "resnet8"))
    // Each batch norm's num_batches_tracked: an I64 scalar counting the 3 × 10 steps.
    let counters = file.tensors.filter { $0.key.hasSuffix("num_batches_tracked") }
    XCTAssertEqual(counters.count, 7)
    for (name, counter) in counters {
      XCTAssertEqual(file.dtypes[name], .i64, name)
      XCTAssertEqual(counter, Tensor(zeros: [], value: 30), name)
    }
  }

  /// KD from a teacher: the distillation losses run, gradients flow, every method trains.
  func testEveryDistillationMethodRuns() throws {
    let data = try SyntheticCIFAR.write(train: 64, test: 32)
    defer { try? FileManager.default.removeItem(at: data) }
    // A teacher to distil from: a quickly trained resnet8 (option A).
    let teacherDir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: teacherDir) }
    let teacher = try Trainer(spec: TrainingSpec(
      student: .init(name: "resnet8"), data: "cifar10:\(data.path)", epochs: 1, batch: 32, schedule: "cosine", seed: 2),
      directory: teacherDir, resume: false).run()
    for method in FeatureDistillation.allCases where method != .none {
      let out = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: out) }
      let spec = TrainingSpec(
        student: .init(name: "resnet8"), teacher: .init(weights: teacher.studentPath), data: "cifar10:\(data.path)",
        epochs: 1, batch: 32, schedule: "cosine", distill: method, seed: 3)
      let result = try Trainer(spec: spec, directory: out, resume: false).run()
      let losses = try XCTUnwrap(try MetricsLog.read(directory: out).first?.losses)
      XCTAssertTrue(losses.values.allSatisfy(\.isFinite), "\(method): \(losses)")
      XCTAssertGreaterThan(losses["kd"]!, 0, "\(method)")
      if method.usesFeatureLoss { XCTAssertGreaterThan(losses["feature"]!, 0, "\(method)") }
      XCTAssertTrue(result.testAccuracy.isFinite)
    }
  }

  func testBadSettingsAndDirectoriesAreClearErrors() throws {
    let data = try SyntheticCIFAR.write(train: 10, test: 10)
    defer { try? FileManager.default.removeItem(at: data) }
    let out = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: out) }
    XCTAssertThrowsError(try Trainer(spec: nil, directory: out, resume: true)) { XCTAssertTrue("\($0)".contains("no run to resume")) }
    let bad = TrainingSpec(student: .init(name: "resnet8"), data: "cifar10:\(data.path)", epochs: 0)
    XCTAssertThrowsError(try Trainer(spec: bad, directory: out, resume: false)) { XCTAssertTrue("\($0)".contains("epochs")) }
    var kdWithoutTeacher = TrainingSpec(student: .init(name: "resnet8"), data: "cifar10:\(data.path)", epochs: 1)
    kdWithoutTeacher.distill = .sp
    XCTAssertThrowsError(try Trainer(spec: kdWithoutTeacher, directory: out, resume: false))
    let ok = TrainingSpec(student: .init(name: "resnet8"), data: "cifar10:\(data.path)", epochs: 1, batch: 8)
    _ = try Trainer(spec: ok, directory: out, resume: false)
    XCTAssertThrowsError(try Trainer(spec: ok, directory: out, resume: false)) { XCTAssertTrue("\($0)".contains("already holds a run")) }
  }

  /// A new length: shorter than the epochs begun is refused (spec.json untouched), only
  /// for resumed runs; a cancelled run stops at its epoch's end without training into the
  /// next epoch, checkpointed there.
  func testNewLengthAndCancellationAtAnEpochsEnd() throws {
    let data = try SyntheticCIFAR.write(train: 32, test: 16)
    defer { try? FileManager.default.removeItem(at: data) }
    let out = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: out) }
    let spec = TrainingSpec(student: .init(name: "resnet8"), data: "cifar10:\(data.path)", epochs: 3, batch: 16, schedule: "cosine")
    XCTAssertThrowsError(try Trainer(spec: spec, directory: out, resume: false, epochs: 4)) {
      XCTAssertTrue("\($0)".contains("a new length is for resumed runs"), "\($0)")
    }
    // Cancelled during the first epoch's test evaluation (the third poll: one after each
    // of its two steps, then one at its end): the run stops at the epoch's checkpoint,
    // not after a step of epoch 2.
    var (steps, polls) = (0, 0)
    let trainer = try Trainer(spec: spec, directory: out, resume: false)
    XCTAssertThrowsError(try trainer.run(progress: { _ in steps += 1 }, isCancelled: { polls += 1; return polls >= 3 })) {
      XCTAssertTrue($0 is CancellationError, "\($0)")
    }
    XCTAssertEqual(steps, 2)
    let state = try TrainingState.read(from: out + "/checkpoint.json")
    XCTAssertEqual([state.epoch, state.stepInEpoch, state.globalStep], [1, 0, 2])
    let before = try Data(contentsOf: URL(fileURLWithPath: out + "/spec.json"))
    XCTAssertThrowsError(try Trainer(spec: nil, directory: out, resume: true, epochs: 0)) { XCTAssertTrue("\($0)".contains("shortened"), "\($0)") }
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/spec.json")), before)
    let longer = try Trainer(spec: nil, directory: out, resume: true, epochs: 5)
    XCTAssertEqual(longer.spec.epochs, 5)
    XCTAssertEqual(try TrainingSpec.read(path: out + "/spec.json").epochs, 5)
  }

  /// A student from a search space is saved with its space and genotype, and
  /// `ModelZoo.loadAny` rebuilds it from the file alone.
  func testSearchSpaceStudentRoundTrips() throws {
    let data = try SyntheticCIFAR.write(train: 64, test: 32)
    defer { try? FileManager.default.removeItem(at: data) }
    let out = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: out) }
    let space = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("SearchSpaces/resnet-cifar-depth.json").path
    let spec = TrainingSpec(
      student: .init(space: space, arch: ["depths": [1, 3, 1], "widths": [16, 32, 64]]), data: "cifar10:\(data.path)",
      epochs: 1, batch: 32, schedule: "cosine", seed: 4)
    let result = try Trainer(spec: spec, directory: out, resume: false).run()
    let file = try SafetensorsFile.read(path: result.studentPath)
    XCTAssertEqual(file.metadata["key"], "depths=1,3,1;widths=16,32,64")
    let model = try ModelZoo.loadAny(file)
    XCTAssertEqual(model.parameterCount, try SearchSpace.load(path: space).build(
      SearchSpace.load(path: space).genotype(fromJSON: ["depths": [1, 3, 1], "widths": [16, 32, 64]])).parameterCount)
    XCTAssertTrue(file.tensors.keys.contains("layer2.0.downsample.0.weight"), "option-B names")
  }
}

/// RepDistiller's standard KD pairs (issue 13, item 2): a vgg8 and a wrn_16_2 student
/// learn by Hinton KD from a wrn_40_2 teacher (a randomly initialised one, written as a
/// plain state dict and read off its names): the total loss falls.
final class RepDistillerTrainingTests: XCTestCase {
  func testZooStudentsTrainByKDFromAWideResNetTeacher() throws {
    let data = try SyntheticCIFAR.write(train: 64, test: 16)
    defer { try? FileManager.default.removeItem(at: data) }
    let teacher = try WideResNet(WideResNetDescription(depth: 40, widenFactor: 2))
    var rng = SeededGenerator(seed: 5)
    teacher.initialize(.kaimingNormalFanOut, using: &rng)
    let teacherPath = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-wrn-\(UUID()).safetensors").path
    defer { try? FileManager.default.removeItem(atPath: teacherPath) }
    try SafetensorsFile.write(path: teacherPath, tensors: teacher.stateDict(), metadata: [:], dtypes: teacher.stateDtypes)
    for student in ["vgg8", "wrn_16_2"] {
      let out = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-train-\(UUID())").path
      defer { try? FileManager.default.removeItem(atPath: out) }
      let spec = TrainingSpec(
        student: .init(name: student), teacher: .init(name: "wrn_40_2", weights: teacherPath), data: "cifar10:\(data.path)",
        epochs: 3, batch: 16, learningRate: 0.02, schedule: "cosine", seed: 1)
      let result = try Trainer(spec: spec, directory: out, resume: false).run()
      let metrics = try MetricsLog.read(directory: out)
      XCTAssertEqual(metrics.count, 3, student)
      XCTAssertGreaterThan(metrics.first!.losses["kd"]!, 0, student)
      XCTAssertLessThan(metrics.last!.losses["total"]!, metrics.first!.losses["total"]!, "\(student): loss falls")
      let file = try SafetensorsFile.read(path: result.studentPath)
      XCTAssertEqual(try ModelZoo.architecture(of: file).name.description, student)
    }
  }
}
