import DiswotDistillation
import DiswotTensor
import DiswotTestSupport
import Foundation
import XCTest

/// Parameters of a quadratic f(θ) = ½ Σ cᵢ θᵢ², whose gradient is cᵢ θᵢ: a stand-in for a
/// model that visits (name, value, gradient) like DiswotModels' layers do.
final class Quadratic: ParameterContainer {
  var names: [String]
  var values: [Tensor]
  var gradients: [Tensor]
  let curvature: [[Float]]

  init(names: [String], values: [Tensor], curvature: [[Float]]) {
    self.names = names
    self.values = values
    self.curvature = curvature
    self.gradients = values.map { Tensor(zeros: $0.shape) }
  }

  /// The two-parameter problem of the hand-worked cases: "w" (a [1, 1] weight, θ₁ = 1,
  /// c₁ = 1) and "bias" (a [1] bias, θ₂ = 1, c₂ = 2), so g = [θ₁, 2θ₂].
  static func twoParameters() -> Quadratic {
    Quadratic(
      names: ["w", "bias"], values: [tensor([1, 1], [1]), tensor([1], [1])], curvature: [[1], [2]])
  }

  /// Sets every gradient to cᵢ θᵢ and returns f(θ).
  @discardableResult
  func computeGradients() -> Float {
    var loss: Float = 0
    for p in values.indices {
      for i in 0..<values[p].count {
        let (c, x) = (curvature[p][i], values[p].storage[i])
        gradients[p].storage[i] = c * x
        loss += 0.5 * c * x * x
      }
    }
    return loss
  }

  func visitParameters(
    prefix: String, _ visit: (String, inout Tensor, inout Tensor) throws -> Void
  ) rethrows {
    for p in names.indices {
      try visit(prefix.isEmpty ? names[p] : prefix + "." + names[p], &values[p], &gradients[p])
    }
  }

  var flat: [Float] { values.flatMap(\.storage) }
}

final class SGDTests: XCTestCase {
  /// Three steps at learning rate 0.1 on the two-parameter problem; θ after each step.
  private func run(_ sgd: SGD, steps: Int = 3, problem: Quadratic = .twoParameters()) throws -> [[Float]] {
    var sgd = sgd
    var trajectory: [[Float]] = []
    for _ in 0..<steps {
      problem.computeGradients()
      try sgd.step(learningRate: 0.1, problem)
      trajectory.append(problem.flat)
    }
    XCTAssertEqual(sgd.stepCount, steps)
    return trajectory
  }

  private func assertTrajectory(_ actual: [[Float]], _ expected: [[Float]], file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, file: file, line: line)
    for (step, (a, e)) in zip(actual, expected).enumerated() {
      assertClose(a, e, abs: 1e-6, rel: 1e-5, "step \(step + 1)", file: file, line: line)
    }
  }

  func testPlainSGD() throws {
    // θ ← θ − 0.1·g with g = [θ₁, 2θ₂]: θ₁ × 0.9 and θ₂ × 0.8 per step.
    // 1: [0.9, 0.8]   2: [0.81, 0.64]   3: [0.729, 0.512]
    assertTrajectory(try run(SGD()), [[0.9, 0.8], [0.81, 0.64], [0.729, 0.512]])
  }

  func testMomentum() throws {
    // μ = 0.9, τ = 0. Step 1: b = g = [1, 2] (no dampening, no μ on the first step);
    //   θ = [1 − 0.1, 1 − 0.2] = [0.9, 0.8].
    // Step 2: g = [0.9, 1.6]; b = 0.9·[1, 2] + g = [1.8, 3.4]; θ = [0.72, 0.46].
    // Step 3: g = [0.72, 0.92]; b = 0.9·[1.8, 3.4] + g = [2.34, 3.98]; θ = [0.486, 0.062].
    assertTrajectory(
      try run(SGD(momentum: 0.9)), [[0.9, 0.8], [0.72, 0.46], [0.486, 0.062]])
  }

  func testMomentumWithDampening() throws {
    // μ = 0.9, τ = 0.5. Step 1: b = g = [1, 2] (PyTorch clones the first gradient, so
    //   dampening does not apply yet); θ = [0.9, 0.8].
    // Step 2: g = [0.9, 1.6]; b = 0.9·[1, 2] + 0.5·g = [1.35, 2.6]; θ = [0.765, 0.54].
    // Step 3: g = [0.765, 1.08]; b = 0.9·[1.35, 2.6] + 0.5·g = [1.5975, 2.88];
    //   θ = [0.60525, 0.252].
    assertTrajectory(
      try run(SGD(momentum: 0.9, dampening: 0.5)), [[0.9, 0.8], [0.765, 0.54], [0.60525, 0.252]])
  }

  func testNesterov() throws {
    // μ = 0.9. Step 1: g = [1, 2]; b = g; direction g + μb = [1.9, 3.8]; θ = [0.81, 0.62].
    // Step 2: g = [0.81, 1.24]; b = 0.9·[1, 2] + g = [1.71, 3.04];
    //   direction = g + 0.9·b = [2.349, 3.976]; θ = [0.5751, 0.2224].
    // Step 3: g = [0.5751, 0.4448]; b = 0.9·[1.71, 3.04] + g = [2.1141, 3.1808];
    //   direction = g + 0.9·b = [2.47779, 3.30752]; θ = [0.327321, −0.108352].
    assertTrajectory(
      try run(SGD(momentum: 0.9, nesterov: true)),
      [[0.81, 0.62], [0.5751, 0.2224], [0.327321, -0.108352]])
  }

  func testWeightDecay() throws {
    // λ = 0.1, no momentum: g + λθ = [1.1θ₁, 2.1θ₂], so θ₁ × 0.89 and θ₂ × 0.79 per step.
    assertTrajectory(
      try run(SGD(weightDecay: 0.1)), [[0.89, 0.79], [0.7921, 0.6241], [0.704969, 0.493039]])
    // With μ = 0.9: step 1 g = [1.1, 2.1] = b, θ = [0.89, 0.79];
    // step 2 g = [0.89 + 0.089, 1.58 + 0.079] = [0.979, 1.659];
    //   b = 0.9·[1.1, 2.1] + g = [1.969, 3.549]; θ = [0.6931, 0.4351].
    assertTrajectory(
      try run(SGD(momentum: 0.9, weightDecay: 0.1), steps: 2), [[0.89, 0.79], [0.6931, 0.4351]])
  }

  func testWeightDecayScope() throws {
    // Only the rank-2 "w" decays: θ₁ × 0.89, the rank-1 "bias" θ₂ × 0.8 as without decay.
    assertTrajectory(
      try run(SGD(weightDecay: 0.1, weightDecayScope: .excludingBiasAndNormalization), steps: 2),
      [[0.89, 0.8], [0.7921, 0.64]])
  }

  func testGradientIsNotModified() throws {
    let problem = Quadratic.twoParameters()
    problem.computeGradients()
    var sgd = try SGD(momentum: 0.9, weightDecay: 0.1)
    try sgd.step(learningRate: 0.1, problem)
    XCTAssertEqual(problem.gradients.flatMap(\.storage), [1, 2])
  }

  func testClosureVisitorNeedsNoConformance() throws {
    let problem = Quadratic.twoParameters()
    problem.computeGradients()
    var sgd = try SGD(momentum: 0.9)
    var seen: [String] = []
    try sgd.step(learningRate: 0.1) { update in
      try problem.visitParameters(prefix: "student") { name, value, gradient in
        seen.append(name)
        try update(name, &value, &gradient)
      }
    }
    XCTAssertEqual(seen, ["student.w", "student.bias"])
    assertClose(problem.flat, [0.9, 0.8])
    XCTAssertEqual(sgd.state.momentumBuffers.map(\.name), ["student.w", "student.bias"])
  }

  func testLossDecreasesOnAQuadratic() throws {
    var rng = SeededGenerator(seed: 7)
    let problem = Quadratic(
      names: ["a", "b"],
      values: [Tensor.normal([4, 5], using: &rng), Tensor.normal([5], using: &rng)],
      curvature: [(0..<20).map { _ in 0.5 + 1.5 * rng.nextUniform() }, (0..<5).map { _ in 0.5 + 1.5 * rng.nextUniform() }])
    // Plain SGD with lr < 2/c_max decreases the loss at every step.
    var plain = try SGD()
    var previous = problem.computeGradients()
    let initial = previous
    for _ in 0..<20 {
      try plain.step(learningRate: 0.2, problem)
      let loss = problem.computeGradients()
      XCTAssertLessThan(loss, previous)
      previous = loss
    }
    // RepDistiller's optimiser converges too (momentum need not be monotone).
    var sgd = SGD.repDistillerCIFAR()
    for _ in 0..<100 {
      try sgd.step(learningRate: 0.05, problem)
      problem.computeGradients()
    }
    XCTAssertLessThan(problem.computeGradients(), initial * 1e-3)
  }

  func testStateRoundTripContinuesBitIdentically() throws {
    func makeProblem() -> Quadratic {
      var rng = SeededGenerator(seed: 11)
      return Quadratic(
        names: ["conv.weight", "bn.weight", "bn.bias"],
        values: [Tensor.normal([3, 2, 2], using: &rng), Tensor.normal([3], using: &rng), Tensor.normal([3], using: &rng)],
        curvature: [[Float](repeating: 1.3, count: 12), [Float](repeating: 0.7, count: 3), [Float](repeating: 2.1, count: 3)])
    }
    for make in [{ try SGD(momentum: 0.9, weightDecay: 5e-4) }, { try SGD(momentum: 0.8, dampening: 0.1) }, { try SGD(momentum: 0.9, nesterov: true) }, { try SGD(weightDecay: 1e-3) }] {
      // Uninterrupted: 7 steps.
      let reference = makeProblem()
      var uninterrupted = try make()
      for step in 0..<7 {
        reference.computeGradients()
        try uninterrupted.step(learningRate: 0.1 / Double(step + 1), reference)
      }
      // Interrupted after 3 steps: state through JSON into a fresh optimiser.
      let resumed = makeProblem()
      var first = try make()
      for step in 0..<3 {
        resumed.computeGradients()
        try first.step(learningRate: 0.1 / Double(step + 1), resumed)
      }
      let data = try JSONEncoder().encode(first.state)
      let state = try JSONDecoder().decode(SGD.State.self, from: data)
      XCTAssertEqual(state, first.state)
      var second = try make()
      try second.restore(state)
      XCTAssertEqual(second.stepCount, 3)
      for step in 3..<7 {
        resumed.computeGradients()
        try second.step(learningRate: 0.1 / Double(step + 1), resumed)
      }
      XCTAssertEqual(resumed.flat, reference.flat, "bit-identical after resuming")
      XCTAssertEqual(second.state, uninterrupted.state)
    }
  }

  func testMomentumBufferEncodingIsExact() throws {
    let values: [Float] = [0.1, -0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .infinity, 1 / 3]
    let buffer = SGD.MomentumBuffer(name: "x", values: values)
    let decoded = try JSONDecoder().decode(SGD.MomentumBuffer.self, from: JSONEncoder().encode(buffer))
    XCTAssertEqual(decoded.values.map(\.bitPattern), values.map(\.bitPattern))
  }

  func testErrors() throws {
    XCTAssertThrowsError(try SGD(momentum: 0, nesterov: true))
    XCTAssertThrowsError(try SGD(momentum: 0.9, dampening: 0.1, nesterov: true))
    XCTAssertThrowsError(try SGD(weightDecay: -1))
    XCTAssertThrowsError(try SGD(momentum: .nan))

    var sgd = try SGD(momentum: 0.9)
    var value = tensor([2], [1, 2]), gradient = tensor([3], [1, 2, 3])
    XCTAssertThrowsError(try sgd.step(learningRate: 0.1) { try $0("p", &value, &gradient) }) { error in
      XCTAssertEqual(error as? SGDError, .gradientMismatch(name: "p", valueShape: [2], gradientShape: [3]))
    }
    gradient = tensor([2], [1, 1])
    try sgd.step(learningRate: 0.1) { try $0("p", &value, &gradient) }
    var bigger = tensor([3], [1, 2, 3]), biggerGradient = tensor([3], [1, 1, 1])
    XCTAssertThrowsError(try sgd.step(learningRate: 0.1) { try $0("p", &bigger, &biggerGradient) }) { error in
      XCTAssertEqual(error as? SGDError, .bufferMismatch(name: "p", bufferCount: 2, parameterCount: 3))
      XCTAssertTrue("\(error)".contains("'p'"))
    }
    XCTAssertThrowsError(try sgd.step(learningRate: -1) { try $0("p", &value, &gradient) })

    var plain = try SGD()
    XCTAssertThrowsError(try plain.restore(sgd.state))
    XCTAssertThrowsError(
      try sgd.restore(.init(stepCount: 1, momentumBuffers: [.init(name: "a", values: [1]), .init(name: "a", values: [2])])))
  }
}
