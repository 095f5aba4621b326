import DiswotDistillation
import Foundation
import XCTest

final class LearningRateScheduleTests: XCTestCase {
  private func assertRate(
    _ schedule: LearningRateSchedule, epoch: Int, step: Int = 0, stepsPerEpoch: Int = 1,
    _ expected: Double, file: StaticString = #filePath, line: UInt = #line
  ) {
    let rate = schedule.learningRate(epoch: epoch, step: step, stepsPerEpoch: stepsPerEpoch)
    XCTAssertEqual(rate, expected, accuracy: 1e-12 + 1e-9 * expected,
      "epoch \(epoch) step \(step)", file: file, line: line)
  }

  func testRepDistillerMultistep() throws {
    // 0.05, × 0.1 from epoch 150, 180 and 210 (0-based; RepDistiller's 1-based epoch 151
    // is the first with 0.005).
    let schedule = LearningRateSchedule.repDistillerCIFAR
    XCTAssertEqual(schedule.totalEpochs, 240)
    for (epoch, rate) in [(0, 0.05), (149, 0.05), (150, 0.005), (179, 0.005), (180, 0.0005),
                          (209, 0.0005), (210, 0.00005), (239, 0.00005)] {
      assertRate(schedule, epoch: epoch, rate)
      // Per epoch: every step of the epoch has the epoch's rate.
      assertRate(schedule, epoch: epoch, step: 390, stepsPerEpoch: 391, rate)
    }
    let parsed = try LearningRateSchedule(parsing: "multistep:150,180,210", baseLearningRate: 0.05, totalEpochs: 240)
    XCTAssertEqual(parsed, schedule)
    // Same numbers as RepDistiller's opt.learning_rate * decay_rate ** steps.
    XCTAssertEqual(schedule.learningRate(epoch: 200), 0.05 * pow(0.1, 2))
  }

  func testMultistepGamma() throws {
    let schedule = try LearningRateSchedule(parsing: "multistep:2,4,gamma=0.5", baseLearningRate: 1, totalEpochs: 6)
    XCTAssertEqual((0..<6).map { schedule.learningRate(epoch: $0) }, [1, 1, 0.5, 0.5, 0.25, 0.25])
  }

  func testCosine() throws {
    // 0.1·(1 + cos(π·e/100))/2: 0.1 at 0, 0.05 at 50, 0 at 100; at 25, 0.1·(1 + √½)/2.
    let schedule = try LearningRateSchedule(parsing: "cosine", baseLearningRate: 0.1, totalEpochs: 100)
    assertRate(schedule, epoch: 0, 0.1)
    assertRate(schedule, epoch: 25, 0.1 * (1 + 0.5.squareRoot()) / 2)
    assertRate(schedule, epoch: 50, 0.05)
    assertRate(schedule, epoch: 100, 0)
    assertRate(schedule, epoch: 120, 0)  // clamped past the end
    // To a minimum: 0.001 + 0.099·½ at the half.
    let floor = try LearningRateSchedule(parsing: "cosine:min=0.001", baseLearningRate: 0.1, totalEpochs: 100)
    assertRate(floor, epoch: 50, 0.0505)
    assertRate(floor, epoch: 100, 0.001)
    // Per step over 10 epochs × 10 steps: T = 100 steps, t = 10·epoch + step.
    let perStep = try LearningRateSchedule(parsing: "cosine+per-step", baseLearningRate: 0.1, totalEpochs: 10)
    assertRate(perStep, epoch: 5, step: 0, stepsPerEpoch: 10, 0.05)
    assertRate(perStep, epoch: 2, step: 5, stepsPerEpoch: 10, 0.1 * (1 + 0.5.squareRoot()) / 2)
    assertRate(perStep, epoch: 0, step: 0, stepsPerEpoch: 10, 0.1)
    // Per epoch, the same schedule holds within an epoch.
    assertRate(schedule, epoch: 2, step: 5, stepsPerEpoch: 10, 0.1 * (1 + cos(Double.pi * 0.02)) / 2)
  }

  func testWarmup() throws {
    // 5 epochs: the rate × (e + 1)/5 in epochs 0–4, the decay's own rate from epoch 5.
    let schedule = try LearningRateSchedule(
      parsing: "multistep:150,180,210+warmup:5", baseLearningRate: 0.05, totalEpochs: 240)
    for (epoch, rate) in [(0, 0.01), (1, 0.02), (2, 0.03), (3, 0.04), (4, 0.05), (5, 0.05), (150, 0.005)] {
      assertRate(schedule, epoch: epoch, rate)
    }
    // Per step: 2 epochs × 10 steps = 20 warm-up steps, × (t + 1)/20.
    let perStep = try LearningRateSchedule(parsing: "constant+warmup:2+per-step", baseLearningRate: 0.2, totalEpochs: 10)
    assertRate(perStep, epoch: 0, step: 0, stepsPerEpoch: 10, 0.01)
    assertRate(perStep, epoch: 0, step: 9, stepsPerEpoch: 10, 0.1)
    assertRate(perStep, epoch: 1, step: 9, stepsPerEpoch: 10, 0.2)
    assertRate(perStep, epoch: 2, step: 0, stepsPerEpoch: 10, 0.2)
    // Composed with cosine: the cosine is not shifted, only scaled during warm-up.
    let cosine = try LearningRateSchedule(parsing: "cosine+warmup:2", baseLearningRate: 0.1, totalEpochs: 4)
    assertRate(cosine, epoch: 0, 0.1 * 0.5)
    assertRate(cosine, epoch: 1, 0.1 * (1 + cos(Double.pi / 4)) / 2)
    assertRate(cosine, epoch: 2, 0.05)
  }

  func testSpecificationAndCodableRoundTrip() throws {
    for text in ["constant", "multistep:150,180,210", "multistep:30,60,gamma=0.2+warmup:5",
                 "cosine", "cosine:min=0.0001+warmup:3+per-step", "constant+per-step"] {
      let schedule = try LearningRateSchedule(parsing: text, baseLearningRate: 0.1, totalEpochs: 200)
      XCTAssertEqual(schedule.specification, text)
      let decoded = try JSONDecoder().decode(LearningRateSchedule.self, from: JSONEncoder().encode(schedule))
      XCTAssertEqual(decoded, schedule)
    }
    // Order of components and spaces do not matter.
    XCTAssertEqual(
      try LearningRateSchedule(parsing: " per-step + warmup:2+cosine ", baseLearningRate: 0.1, totalEpochs: 10).specification,
      "cosine+warmup:2+per-step")
  }

  func testParseErrors() {
    let bad = ["", "linear", "multistep", "multistep:", "multistep:180,150", "multistep:0,10",
               "multistep:10,x", "multistep:10,gamma=-1", "cosine:min=x", "cosine:0.1", "cosine:min=1",
               "warmup:5", "cosine+cosine", "cosine+warmup", "cosine+warmup:-1", "cosine+warmup:300",
               "cosine++warmup:2", "constant:1", "cosine+per-step:2", "cosine+per-step+per-epoch"]
    for text in bad {
      XCTAssertThrowsError(
        try LearningRateSchedule(parsing: text, baseLearningRate: 0.1, totalEpochs: 200), "'\(text)'"
      ) { error in
        guard case .invalidSpecification(let spec, _)? = error as? LearningRateScheduleError else {
          return XCTFail("\(error)")
        }
        XCTAssertEqual(spec, text)
        XCTAssertTrue("\(error)".contains("syntax: "))
      }
    }
    XCTAssertThrowsError(try LearningRateSchedule(parsing: "cosine", baseLearningRate: 0, totalEpochs: 10))
    XCTAssertThrowsError(try LearningRateSchedule(parsing: "cosine", baseLearningRate: 0.1, totalEpochs: 0))
    // A milestone past the end is allowed (a short trial run of a long recipe).
    XCTAssertNoThrow(try LearningRateSchedule(parsing: "multistep:150", baseLearningRate: 0.1, totalEpochs: 2))
  }
}
