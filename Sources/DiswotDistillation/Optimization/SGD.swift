import DiswotTensor
import Foundation

/// Something whose learned parameters an optimiser can update: it visits each parameter's
/// (name, value, gradient) in state-dict order. DiswotModels' layers have a method of
/// exactly this shape, so a network conforms with an empty extension
/// (`extension ResNetCIFAR: ParameterContainer {}`); `SGD.step(learningRate:_:)` with a
/// visitor closure needs no conformance at all.
public protocol ParameterContainer {
  func visitParameters(
    prefix: String, _ visit: (String, inout Tensor, inout Tensor) throws -> Void) rethrows
}

/// Which parameters weight decay applies to.
public enum WeightDecayScope: String, Sendable, Codable, CaseIterable {
  /// Every parameter, as `torch.optim.SGD(model.parameters(), weight_decay=…)` does and as
  /// the CIFAR distillation recipes (RepDistiller, CRD, DisWOT) train. The default.
  case allParameters = "all"
  /// Only parameters of rank ≥ 2 (convolution and linear weights): biases and batch-norm
  /// scales/shifts, the rank-1 tensors, are not decayed (the "no_decay" parameter group of
  /// many ImageNet recipes).
  case excludingBiasAndNormalization = "weights-only"
}

/// Stochastic gradient descent with PyTorch's `torch.optim.SGD` semantics.
///
/// For each parameter θ with gradient g, at learning rate γ:
///
///     g ← g + λθ                      if weight decay λ ≠ 0 (g itself is not modified)
///     if momentum μ ≠ 0:
///         b ← g                        on this parameter's first step
///         b ← μb + (1 − τ)g            afterwards (τ = dampening)
///         g ← g + μb   if nesterov,    else g ← b
///     θ ← θ − γg
///
/// Hyper-parameters are kept as the `Double`s the user typed and rounded to `Float` where
/// PyTorch rounds them (its CPU kernels take `alpha` scalars in the tensor's type,
/// `1 − τ` computed in double first), and each element is computed with the same separate
/// multiplies and adds as PyTorch's scalar kernel. (PyTorch's vectorised kernels fuse some
/// multiply-adds, so the last bit can differ from a PyTorch run; the algorithm cannot.)
///
/// Momentum buffers are keyed by parameter name and held in one contiguous array that
/// is allocated on the first step and reused: a step allocates nothing. The learning rate
/// is an argument of each step, so a `LearningRateSchedule` drives it from outside and
/// resuming needs only the step count and buffers (`state`, `restore(_:)`).
public struct SGD: Sendable {
  /// μ.
  public let momentum: Double
  /// τ: how much of each new gradient is held back from the momentum buffer.
  public let dampening: Double
  /// λ: L2 penalty added to each gradient.
  public let weightDecay: Double
  /// Nesterov momentum (needs μ > 0 and τ = 0, as PyTorch requires).
  public let nesterov: Bool
  /// Which parameters λ applies to.
  public let weightDecayScope: WeightDecayScope

  /// Steps taken so far (restored by `restore(_:)`).
  public private(set) var stepCount = 0

  /// Every momentum buffer, one after another, in the order parameters were first seen.
  private var buffers: [Float] = []
  /// Where each parameter's buffer lives in `buffers`.
  private var slots: [String: Slot] = [:]
  /// Parameter names in first-seen order (the order of `state.momentumBuffers`).
  private var order: [String] = []

  private struct Slot: Sendable {
    var offset: Int
    var count: Int
    /// False until the parameter's first step has set b ← g.
    var initialized: Bool
  }

  /// An optimiser with PyTorch's defaults (plain SGD) unless told otherwise.
  public init(
    momentum: Double = 0, dampening: Double = 0, weightDecay: Double = 0, nesterov: Bool = false,
    weightDecayScope: WeightDecayScope = .allParameters
  ) throws(SGDError) {
    guard momentum.isFinite, momentum >= 0 else {
      throw .invalidHyperparameter("momentum \(momentum) must be finite and at least 0")
    }
    guard dampening.isFinite else {
      throw .invalidHyperparameter("dampening \(dampening) must be finite")
    }
    guard weightDecay.isFinite, weightDecay >= 0 else {
      throw .invalidHyperparameter("weight decay \(weightDecay) must be finite and at least 0")
    }
    if nesterov && (momentum <= 0 || dampening != 0) {
      throw .invalidHyperparameter(
        "Nesterov momentum requires momentum > 0 and dampening 0 (got momentum \(momentum), dampening \(dampening))"
      )
    }
    self.momentum = momentum
    self.dampening = dampening
    self.weightDecay = weightDecay
    self.nesterov = nesterov
    self.weightDecayScope = weightDecayScope
  }

  /// RepDistiller's CIFAR student optimiser: momentum 0.9, weight decay 5e-4 on every
  /// parameter, no dampening, no Nesterov (learning rate from
  /// `LearningRateSchedule.repDistillerCIFAR`).
  public static func repDistillerCIFAR() -> SGD {
    try! SGD(momentum: 0.9, weightDecay: 5e-4)
  }

  /// One step over every parameter a container visits, with `learningRate` γ.
  public mutating func step(learningRate: Double, _ parameters: some ParameterContainer) throws {
    try step(learningRate: learningRate) { update in
      try parameters.visitParameters(prefix: "", update)
    }
  }

  /// One step with `learningRate` γ over the parameters that `visitParameters` passes to
  /// the update closure it receives, as (name, value, gradient); for a model:
  /// `try sgd.step(learningRate: lr) { try model.visitParameters(prefix: "", $0) }`.
  /// Values are updated in place; gradients are only read. Throws `SGDError` when a value
  /// and its gradient differ in size or a name's size changed since its buffer was made.
  public mutating func step(
    learningRate: Double,
    visitParameters: ((String, inout Tensor, inout Tensor) throws -> Void) throws -> Void
  ) throws {
    guard learningRate.isFinite, learningRate >= 0 else {
      throw SGDError.invalidHyperparameter("learning rate \(learningRate) must be finite and at least 0")
    }
    let negativeRate = Float(-learningRate)
    let mu = Float(momentum)
    let keep = Float(1 - dampening)
    let useMomentum = momentum != 0
    try visitParameters { name, value, gradient in
      guard value.count == gradient.count else {
        throw SGDError.gradientMismatch(
          name: name, valueShape: value.shape, gradientShape: gradient.shape)
      }
      let decays =
        weightDecay != 0 && (weightDecayScope == .allParameters || value.rank >= 2)
      let lambda = decays ? Float(weightDecay) : 0
      if !useMomentum {
        Self.plainStep(&value, gradient, lambda: lambda, decays: decays, negativeRate: negativeRate)
        return
      }
      let slot = try momentumSlot(name: name, count: value.count)
      let first = !slot.initialized
      let nesterov = self.nesterov
      buffers.withUnsafeMutableBufferPointer { all in
        let b = all.baseAddress! + slot.offset
        value.withUnsafeMutableBufferPointer { theta in
          gradient.withUnsafeBufferPointer { grad in
            let p = theta.baseAddress!, g = grad.baseAddress!
            for i in 0..<slot.count {
              // grad.add(param, alpha=λ), skipped when λ = 0 as in PyTorch.
              let d = decays ? g[i] + lambda * p[i] : g[i]
              // buf = clone(grad) on the first step, buf.mul_(μ).add_(grad, alpha=1-τ) after.
              let bi = first ? d : b[i] * mu + keep * d
              b[i] = bi
              // grad.add(buf, alpha=μ) for Nesterov, else grad = buf; param.add_(grad, alpha=-γ).
              let direction = nesterov ? d + mu * bi : bi
              p[i] = p[i] + negativeRate * direction
            }
          }
        }
      }
      if first { slots[name]!.initialized = true }
    }
    stepCount += 1
  }

  private static func plainStep(
    _ value: inout Tensor, _ gradient: Tensor, lambda: Float, decays: Bool, negativeRate: Float
  ) {
    value.withUnsafeMutableBufferPointer { theta in
      gradient.withUnsafeBufferPointer { grad in
        let p = theta.baseAddress!, g = grad.baseAddress!
        if decays {
          for i in 0..<theta.count { p[i] = p[i] + negativeRate * (g[i] + lambda * p[i]) }
        } else {
          for i in 0..<theta.count { p[i] = p[i] + negativeRate * g[i] }
        }
      }
    }
  }

  /// The buffer slot for `name`, made (zeroed, uninitialised) the first time it is seen.
  private mutating func momentumSlot(name: String, count: Int) throws(SGDError) -> Slot {
    if let slot = slots[name] {
      guard slot.count == count else {
        throw .bufferMismatch(name: name, bufferCount: slot.count, parameterCount: count)
      }
      return slot
    }
    let slot = Slot(offset: buffers.count, count: count, initialized: false)
    buffers.append(contentsOf: repeatElement(0, count: count))
    slots[name] = slot
    order.append(name)
    return slot
  }

  // MARK: - Checkpoint state

  /// What a resumed optimiser needs: the step count and every momentum buffer.
  public struct State: Codable, Sendable, Equatable {
    /// Steps taken.
    public var stepCount: Int
    /// Momentum buffers of the parameters that have one, in first-seen order (empty
    /// without momentum or before the first step).
    public var momentumBuffers: [MomentumBuffer]

    public init(stepCount: Int, momentumBuffers: [MomentumBuffer]) {
      self.stepCount = stepCount
      self.momentumBuffers = momentumBuffers
    }

    enum CodingKeys: String, CodingKey {
      case stepCount = "step_count"
      case momentumBuffers = "momentum_buffers"
    }
  }

  /// One parameter's momentum buffer. Encoded as the raw little-endian IEEE-754 bits in
  /// base64 (`float32_le_base64`) so that a restored buffer is bit-identical, NaN and
  /// infinities included, which decimal JSON numbers do not guarantee.
  public struct MomentumBuffer: Codable, Sendable, Equatable {
    public var name: String
    public var values: [Float]

    public init(name: String, values: [Float]) {
      self.name = name
      self.values = values
    }

    enum CodingKeys: String, CodingKey {
      case name, count
      case values = "float32_le_base64"
    }

    public func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(name, forKey: .name)
      try container.encode(values.count, forKey: .count)
      var bytes = Data(capacity: values.count * 4)
      for v in values {
        withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
      }
      try container.encode(bytes.base64EncodedString(), forKey: .values)
    }

    public init(from decoder: any Decoder) throws {
      let container = try decoder.container(keyedBy: CodingKeys.self)
      name = try container.decode(String.self, forKey: .name)
      let count = try container.decode(Int.self, forKey: .count)
      let text = try container.decode(String.self, forKey: .values)
      guard let bytes = Data(base64Encoded: text) else {
        throw DecodingError.dataCorruptedError(
          forKey: .values, in: container, debugDescription: "momentum buffer '\(name)' is not valid base64")
      }
      guard count >= 0, bytes.count == count * 4 else {
        throw DecodingError.dataCorruptedError(
          forKey: .values, in: container,
          debugDescription: "momentum buffer '\(name)' holds \(bytes.count) bytes for \(count) floats")
      }
      values = bytes.withUnsafeBytes { raw in
        (0..<count).map { i in
          Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
        }
      }
    }
  }

  /// The step count and momentum buffers, for a checkpoint.
  public var state: State {
    State(
      stepCount: stepCount,
      momentumBuffers: order.compactMap { name in
        let slot = slots[name]!
        guard slot.initialized else { return nil }
        return MomentumBuffer(name: name, values: Array(buffers[slot.offset..<slot.offset + slot.count]))
      })
  }

  /// Replaces the step count and momentum buffers with a checkpoint's; the next step then
  /// continues exactly as the checkpointed optimiser would have.
  public mutating func restore(_ state: State) throws(SGDError) {
    guard state.stepCount >= 0 else {
      throw .invalidState("step count \(state.stepCount) is negative")
    }
    if momentum == 0 && !state.momentumBuffers.isEmpty {
      throw .invalidState(
        "the checkpoint has \(state.momentumBuffers.count) momentum buffers but this optimiser has no momentum")
    }
    var newSlots: [String: Slot] = [:]
    var newOrder: [String] = []
    var newBuffers: [Float] = []
    newBuffers.reserveCapacity(state.momentumBuffers.reduce(0) { $0 + $1.values.count })
    for buffer in state.momentumBuffers {
      guard newSlots[buffer.name] == nil else {
        throw .invalidState("momentum buffer '\(buffer.name)' appears twice")
      }
      newSlots[buffer.name] = Slot(offset: newBuffers.count, count: buffer.values.count, initialized: true)
      newOrder.append(buffer.name)
      newBuffers.append(contentsOf: buffer.values)
    }
    stepCount = state.stepCount
    slots = newSlots
    order = newOrder
    buffers = newBuffers
  }
}

/// Why an optimiser could not be made, step, or restore.
public enum SGDError: Error, Equatable, CustomStringConvertible {
  /// A hyper-parameter or learning rate outside its valid range.
  case invalidHyperparameter(String)
  /// A parameter and its gradient hold different numbers of elements.
  case gradientMismatch(name: String, valueShape: [Int], gradientShape: [Int])
  /// A parameter's size differs from that of its existing momentum buffer (a checkpoint
  /// of another architecture, or a model changed between steps).
  case bufferMismatch(name: String, bufferCount: Int, parameterCount: Int)
  /// A checkpointed optimiser state that cannot be restored.
  case invalidState(String)

  public var description: String {
    switch self {
    case .invalidHyperparameter(let m):
      return "invalid SGD setting: \(m)"
    case .gradientMismatch(let name, let value, let gradient):
      return "parameter '\(name)' has shape \(value) but its gradient has shape \(gradient)"
    case .bufferMismatch(let name, let buffer, let parameter):
      return
        "momentum buffer for '\(name)' holds \(buffer) values but the parameter has \(parameter) (optimiser state from another model?)"
    case .invalidState(let m):
      return "invalid optimiser state: \(m)"
    }
  }
}
