#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The learning rate as a pure function of training progress, (epoch, step in epoch), so
/// that a run resumed from any checkpoint continues with exactly the rates it would have
/// used. Epochs and steps count from 0.
///
/// A schedule is a decay (constant, multistep, cosine), optionally scaled by a linear
/// warm-up, evaluated once per epoch or at every step:
///
/// - multistep: `base · γ^k` where k is the number of milestones ≤ epoch (PyTorch's
///   `MultiStepLR`; RepDistiller's `adjust_learning_rate`, which counts epochs from 1 and
///   decays when `epoch > milestone`, gives the same rates). With milestones 150,180,210
///   and base 0.05, epochs 0–149 train at 0.05, 150–179 at 0.005, 180–209 at 0.0005 and
///   210–239 at 0.00005.
/// - cosine: `min + (base − min)·(1 + cos(π·t/T))/2`, PyTorch's `CosineAnnealingLR` with
///   `T_max` = T; t and T count epochs (per epoch) or steps (per step, T = total epochs ×
///   steps per epoch). t is clamped to T, where the rate reaches `min` (PyTorch's would
///   rise again past T_max).
/// - warm-up over W epochs multiplies the decay by `min(1, (u + 1)/U)`, where u counts
///   epochs and U = W per epoch, or u counts steps and U = W × steps per epoch per step:
///   the first epoch (or step) already trains at base/U, never at 0, and the rate reaches
///   the decay's own value at epoch W. The decay keeps running underneath (a cosine
///   is not shifted by the warm-up).
/// - per epoch (the default, as RepDistiller adjusts the rate at the start of each epoch)
///   or per step.
///
/// Specification strings (`init(parsing:baseLearningRate:totalEpochs:)`) write a decay and
/// optional modifiers joined by `+`; see `syntax`.
public struct LearningRateSchedule: Sendable, Equatable, CustomStringConvertible {
  /// How the rate falls over training.
  public enum Decay: Sendable, Equatable {
    /// The base rate throughout.
    case constant
    /// × γ at each milestone epoch (strictly increasing, ≥ 1).
    case multistep(milestones: [Int], gamma: Double)
    /// Cosine annealing from the base rate to `minimum` over all epochs.
    case cosine(minimum: Double)
  }

  /// When the rate changes.
  public enum Granularity: String, Sendable, Equatable, CaseIterable {
    /// Once per epoch: every step of an epoch uses the rate of (epoch, 0).
    case epoch = "per-epoch"
    /// At every step.
    case step = "per-step"
  }

  /// Rate at the start of training (after warm-up), before any decay.
  public let baseLearningRate: Double
  /// Length of training in epochs (the cosine's period).
  public let totalEpochs: Int
  public let decay: Decay
  /// Epochs of linear warm-up; 0 for none.
  public let warmupEpochs: Int
  public let granularity: Granularity

  /// A validated schedule.
  public init(
    baseLearningRate: Double, totalEpochs: Int, decay: Decay, warmupEpochs: Int = 0,
    granularity: Granularity = .epoch
  ) throws(LearningRateScheduleError) {
    guard baseLearningRate.isFinite, baseLearningRate > 0 else {
      throw .invalidValue("base learning rate \(baseLearningRate) must be finite and greater than 0")
    }
    guard totalEpochs >= 1 else {
      throw .invalidValue("total epochs \(totalEpochs) must be at least 1")
    }
    guard warmupEpochs >= 0, warmupEpochs <= totalEpochs else {
      throw .invalidValue("warm-up of \(warmupEpochs) epochs must be within 0...\(totalEpochs) (the total)")
    }
    switch decay {
    case .constant:
      break
    case .multistep(let milestones, let gamma):
      guard !milestones.isEmpty else { throw .invalidValue("multistep needs at least one milestone") }
      guard milestones.allSatisfy({ $0 >= 1 }) else {
        throw .invalidValue("multistep milestones \(milestones) must be epochs ≥ 1")
      }
      guard zip(milestones, milestones.dropFirst()).allSatisfy({ $0 < $1 }) else {
        throw .invalidValue("multistep milestones \(milestones) must be strictly increasing")
      }
      guard gamma.isFinite, gamma > 0 else {
        throw .invalidValue("multistep gamma \(gamma) must be finite and greater than 0")
      }
    case .cosine(let minimum):
      guard minimum.isFinite, minimum >= 0, minimum <= baseLearningRate else {
        throw .invalidValue(
          "cosine minimum \(minimum) must be within 0...\(baseLearningRate) (the base learning rate)")
      }
    }
    self.baseLearningRate = baseLearningRate
    self.totalEpochs = totalEpochs
    self.decay = decay
    self.warmupEpochs = warmupEpochs
    self.granularity = granularity
  }

  /// RepDistiller's CIFAR recipe: 240 epochs from 0.05, × 0.1 at epochs 150, 180 and 210,
  /// adjusted per epoch.
  public static let repDistillerCIFAR = try! LearningRateSchedule(
    baseLearningRate: 0.05, totalEpochs: 240, decay: .multistep(milestones: [150, 180, 210], gamma: 0.1))

  /// The rate for step `step` (0-based) of epoch `epoch` (0-based) when an epoch has
  /// `stepsPerEpoch` steps. Per-epoch schedules ignore `step` (and only need
  /// `stepsPerEpoch` ≥ 1).
  public func learningRate(epoch: Int, step: Int = 0, stepsPerEpoch: Int = 1) -> Double {
    precondition(epoch >= 0 && step >= 0 && stepsPerEpoch >= 1,
      "epoch \(epoch), step \(step), steps per epoch \(stepsPerEpoch)")
    // Progress in the schedule's units: t of T, and the warm-up length in those units.
    let (t, total, warmup): (Int, Int, Int)
    switch granularity {
    case .epoch: (t, total, warmup) = (epoch, totalEpochs, warmupEpochs)
    case .step:
      (t, total, warmup) =
        (epoch * stepsPerEpoch + step, totalEpochs * stepsPerEpoch, warmupEpochs * stepsPerEpoch)
    }
    var rate: Double
    switch decay {
    case .constant:
      rate = baseLearningRate
    case .multistep(let milestones, let gamma):
      // Milestones are whole epochs, so the step within the epoch never moves past one.
      let passed = milestones.reduce(0) { $0 + (epoch >= $1 ? 1 : 0) }
      rate = baseLearningRate * pow(gamma, Double(passed))
    case .cosine(let minimum):
      let progress = Double(min(t, total)) / Double(total)
      rate = minimum + (baseLearningRate - minimum) * (1 + cos(Double.pi * progress)) / 2
    }
    if t < warmup {
      rate *= Double(t + 1) / Double(warmup)
    }
    return rate
  }

  // MARK: - Specification strings

  /// The grammar of `init(parsing:…)`, for `--help` and error messages.
  public static let syntax = """
    DECAY[+MODIFIER…] where DECAY is constant | multistep:E1,E2,…[,gamma=G] (default γ 0.1) \
    | cosine[:min=LR] (default min 0), and MODIFIER is warmup:W (W epochs of linear warm-up) \
    | per-step | per-epoch (default); e.g. multistep:150,180,210, cosine+warmup:5+per-step
    """

  /// Parses a specification such as `multistep:150,180,210`, `cosine:min=0.0001`,
  /// `multistep:30,60,gamma=0.2+warmup:5` or `cosine+warmup:5+per-step` (`syntax`);
  /// the base rate and length come from their own options.
  public init(parsing text: String, baseLearningRate: Double, totalEpochs: Int)
    throws(LearningRateScheduleError)
  {
    func fail(_ reason: String) -> LearningRateScheduleError { .invalidSpecification(text, reason: reason) }
    var decay: Decay?
    var warmup: Int?
    var granularity: Granularity?
    let parts = text.trimmingWhitespace.split(separator: "+", omittingEmptySubsequences: false)
    for rawPart in parts {
      let part = rawPart.trimmingWhitespace
      guard !part.isEmpty else { throw fail("empty component between '+' signs") }
      let name: Substring, arguments: Substring?
      if let colon = part.firstIndex(of: ":") {
        name = part[..<colon]
        arguments = part[part.index(after: colon)...]
      } else {
        (name, arguments) = (Substring(part), nil)
      }
      switch name {
      case "constant", "multistep", "cosine":
        guard decay == nil else { throw fail("more than one decay ('\(part)')") }
        decay = try Self.parseDecay(String(name), arguments, fail)
      case "warmup":
        guard warmup == nil else { throw fail("warmup given twice") }
        guard let arguments, let epochs = Int(arguments.trimmingWhitespace), epochs >= 0 else {
          throw fail("warmup needs a whole number of epochs, e.g. warmup:5")
        }
        warmup = epochs
      case "per-step", "per-epoch":
        guard arguments == nil else { throw fail("'\(name)' takes no value") }
        guard granularity == nil else { throw fail("per-step/per-epoch given twice") }
        granularity = Granularity(rawValue: String(name))
      default:
        throw fail("unknown component '\(name)'")
      }
    }
    guard let decay else { throw fail("no decay (constant, multistep:…, or cosine)") }
    do throws(LearningRateScheduleError) {
      try self.init(
        baseLearningRate: baseLearningRate, totalEpochs: totalEpochs, decay: decay,
        warmupEpochs: warmup ?? 0, granularity: granularity ?? .epoch)
    } catch {
      guard case .invalidValue(let reason) = error else { throw error }
      throw fail(reason)
    }
  }

  private static func parseDecay(
    _ name: String, _ arguments: Substring?, _ fail: (String) -> LearningRateScheduleError
  ) throws(LearningRateScheduleError) -> Decay {
    switch name {
    case "constant":
      guard arguments == nil else { throw fail("constant takes no value") }
      return .constant
    case "multistep":
      guard let arguments, !arguments.trimmingWhitespace.isEmpty else {
        throw fail("multistep needs milestone epochs, e.g. multistep:150,180,210")
      }
      var milestones: [Int] = []
      var gamma = 0.1
      for field in arguments.split(separator: ",", omittingEmptySubsequences: false) {
        let item = field.trimmingWhitespace
        if item.hasPrefix("gamma=") {
          guard let value = Double(item.dropFirst("gamma=".count)) else {
            throw fail("multistep '\(item)': gamma must be a number")
          }
          gamma = value
        } else if let epoch = Int(item) {
          milestones.append(epoch)
        } else {
          throw fail("multistep '\(item)' is neither a milestone epoch nor gamma=G")
        }
      }
      return .multistep(milestones: milestones, gamma: gamma)
    default:  // cosine
      guard let arguments else { return .cosine(minimum: 0) }
      let item = arguments.trimmingWhitespace
      guard item.hasPrefix("min="), let minimum = Double(item.dropFirst("min=".count)) else {
        throw fail("cosine takes min=LR, e.g. cosine:min=0.0001")
      }
      return .cosine(minimum: minimum)
    }
  }

  /// The specification string this schedule parses back from (without the base rate and
  /// length, which are separate settings).
  public var specification: String {
    var text: String
    switch decay {
    case .constant:
      text = "constant"
    case .multistep(let milestones, let gamma):
      text = "multistep:" + milestones.map(String.init).joined(separator: ",")
      if gamma != 0.1 { text += ",gamma=\(gamma)" }
    case .cosine(let minimum):
      text = minimum == 0 ? "cosine" : "cosine:min=\(minimum)"
    }
    if warmupEpochs > 0 { text += "+warmup:\(warmupEpochs)" }
    if granularity == .step { text += "+per-step" }
    return text
  }

  public var description: String {
    "\(specification) from \(baseLearningRate) over \(totalEpochs) epochs"
  }
}

/// Encoded as `{"base_learning_rate": 0.05, "total_epochs": 240, "specification":
/// "multistep:150,180,210"}`: the same text a user writes, validated again on decoding.
extension LearningRateSchedule: Codable {
  enum CodingKeys: String, CodingKey {
    case baseLearningRate = "base_learning_rate"
    case totalEpochs = "total_epochs"
    case specification
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(baseLearningRate, forKey: .baseLearningRate)
    try container.encode(totalEpochs, forKey: .totalEpochs)
    try container.encode(specification, forKey: .specification)
  }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    let text = try container.decode(String.self, forKey: .specification)
    do {
      try self.init(
        parsing: text,
        baseLearningRate: try container.decode(Double.self, forKey: .baseLearningRate),
        totalEpochs: try container.decode(Int.self, forKey: .totalEpochs))
    } catch let error as LearningRateScheduleError {
      throw DecodingError.dataCorruptedError(
        forKey: .specification, in: container, debugDescription: error.description)
    }
  }
}

/// Why a schedule could not be made or parsed.
public enum LearningRateScheduleError: Error, Equatable, CustomStringConvertible {
  /// A specification string that does not parse or whose values are invalid.
  case invalidSpecification(String, reason: String)
  /// A value outside its valid range.
  case invalidValue(String)

  public var description: String {
    switch self {
    case .invalidSpecification(let text, let reason):
      return "invalid learning-rate schedule '\(text)': \(reason) (syntax: \(LearningRateSchedule.syntax))"
    case .invalidValue(let reason):
      return "invalid learning-rate schedule: \(reason)"
    }
  }
}

extension StringProtocol {
  /// The text without leading and trailing spaces and tabs.
  fileprivate var trimmingWhitespace: Substring {
    let s = Substring(self)
    let isSpace = { (c: Character) in c == " " || c == "\t" }
    guard let start = s.firstIndex(where: { !isSpace($0) }) else { return s[s.endIndex...] }
    let end = s.lastIndex(where: { !isSpace($0) })!
    return s[start...end]
  }
}
