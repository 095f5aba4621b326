import DiswotFiles
import DiswotJSON
import DiswotTensor
import Foundation

/// Everything besides the weights that a training run needs to resume exactly where a
/// checkpoint left it: progress counters, optimiser state, random generators and the best
/// accuracy so far. Written as JSON beside the weights (which go to safetensors).
///
/// Progress convention: `epoch` is the epoch in progress (from 0) and `stepInEpoch` the
/// number of its batches already trained, so a checkpoint at the end of epoch e reads
/// (epoch e + 1, step 0) and a mid-epoch one (epoch e, step k): resume with
/// `BatchLoader(…, epoch: epoch, startBatch: stepInEpoch)`.
public struct TrainingState: Codable, Sendable, Equatable {
  /// The format this build writes; `read(from:)` accepts versions up to it.
  public static let currentFormatVersion = 1

  /// Format of the file this state was read from (`currentFormatVersion` when made here).
  public var formatVersion: Int
  /// Epoch in progress, from 0.
  public var epoch: Int
  /// Batches of `epoch` already trained.
  public var stepInEpoch: Int
  /// Optimiser steps since the start of training.
  public var globalStep: Int
  /// The run's base seed (shuffling and augmentation derive from it and the epoch).
  public var seed: UInt64
  /// Momentum buffers and step count.
  public var optimizer: SGD.State
  /// The learning-rate schedule, to check that a resumed run uses the same one.
  public var schedule: LearningRateSchedule?
  /// Any generators whose position matters (e.g. "init", "dropout"), by name.
  public var randomGenerators: [String: SeededGenerator]
  /// Best test accuracy so far (a fraction in [0, 1]) and the epoch it was reached.
  public var bestTestAccuracy: Double?
  public var bestEpoch: Int?
  /// Free-form settings of the run (models, dataset, loss weights, …) for the record.
  public var configuration: [String: JSONValue]

  public init(
    epoch: Int = 0, stepInEpoch: Int = 0, globalStep: Int = 0, seed: UInt64,
    optimizer: SGD.State, schedule: LearningRateSchedule? = nil,
    randomGenerators: [String: SeededGenerator] = [:], bestTestAccuracy: Double? = nil,
    bestEpoch: Int? = nil, configuration: [String: JSONValue] = [:]
  ) {
    self.formatVersion = Self.currentFormatVersion
    self.epoch = epoch
    self.stepInEpoch = stepInEpoch
    self.globalStep = globalStep
    self.seed = seed
    self.optimizer = optimizer
    self.schedule = schedule
    self.randomGenerators = randomGenerators
    self.bestTestAccuracy = bestTestAccuracy
    self.bestEpoch = bestEpoch
    self.configuration = configuration
  }

  enum CodingKeys: String, CodingKey {
    case formatVersion = "format_version"
    case epoch
    case stepInEpoch = "step_in_epoch"
    case globalStep = "global_step"
    case seed, optimizer, schedule
    case randomGenerators = "random_generators"
    case bestTestAccuracy = "best_test_accuracy"
    case bestEpoch = "best_epoch"
    case configuration
  }

  /// Just the version, decoded first so that a newer file gets a clear message rather
  /// than a complaint about whichever field changed.
  private struct Header: Decodable {
    var formatVersion: Int?
    enum CodingKeys: String, CodingKey { case formatVersion = "format_version" }
  }

  /// The state as pretty-printed JSON with sorted keys.
  public func encoded() throws(TrainingStateError) -> [UInt8] {
    do {
      return Array(try JSONText.data(self, pretty: true))
    } catch {
      throw .unencodable("\(error)")
    }
  }

  /// Writes the state to `path` atomically (temporary file, flush, rename): a crash at
  /// any moment leaves either the previous file or the complete new one.
  public func write(to path: String) throws(TrainingStateError) {
    let bytes = try encoded()
    do {
      try DurableFile.writeAtomically(path: path, bytes: bytes)
    } catch {
      throw .io(path: path, reason: error.reason)
    }
  }

  /// Parses a state from JSON bytes; `path` only names the source in errors.
  public static func decode(_ bytes: [UInt8], path: String) throws(TrainingStateError) -> TrainingState {
    let data = Data(bytes)
    let decoder = JSONDecoder()
    let header: Header
    do {
      header = try decoder.decode(Header.self, from: data)
    } catch {
      throw .corrupt(path: path, reason: describeDecodingError(error))
    }
    guard let version = header.formatVersion else {
      throw .corrupt(path: path, reason: "no format_version: not a diswot training state")
    }
    guard version >= 1, version <= currentFormatVersion else {
      throw .unsupportedVersion(path: path, version: version, supported: currentFormatVersion)
    }
    let state: TrainingState
    do {
      state = try decoder.decode(TrainingState.self, from: data)
    } catch {
      throw .corrupt(path: path, reason: describeDecodingError(error))
    }
    guard state.epoch >= 0, state.stepInEpoch >= 0, state.globalStep >= 0 else {
      throw .corrupt(
        path: path,
        reason: "negative progress (epoch \(state.epoch), step_in_epoch \(state.stepInEpoch), global_step \(state.globalStep))")
    }
    return state
  }

  /// Reads the state written by `write(to:)`.
  public static func read(from path: String) throws(TrainingStateError) -> TrainingState {
    let bytes: [UInt8]
    do {
      bytes = try DurableFile.readAll(path: path)
    } catch {
      throw error.isMissing ? .missing(path: path) : .io(path: path, reason: error.reason)
    }
    return try decode(bytes, path: path)
  }
}

/// A decoding error as one line naming the field, e.g. "missing field 'optimizer.step_count'".
func describeDecodingError(_ error: any Error) -> String {
  func path(_ codingPath: [any CodingKey], _ last: (any CodingKey)? = nil) -> String {
    let keys = codingPath + (last.map { [$0] } ?? [])
    return keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
      .replacingOccurrences(of: ".[", with: "[")
  }
  func place(_ codingPath: [any CodingKey]) -> String {
    codingPath.isEmpty ? "the top level" : "field '\(path(codingPath))'"
  }
  func jsonType(_ type: Any.Type) -> String {
    let name = String(describing: type)
    if name.hasPrefix("Dictionary") { return "a JSON object" }
    if name.hasPrefix("Array") { return "an array" }
    if name == "String" { return "a string" }
    if name == "Bool" { return "true or false" }
    if name.hasPrefix("Int") || name.hasPrefix("UInt") { return "an integer" }
    if name == "Double" || name == "Float" { return "a number" }
    return "a valid \(name)"
  }
  guard let error = error as? DecodingError else { return "\(error)" }
  switch error {
  case .keyNotFound(let key, let context):
    return "missing field '\(path(context.codingPath, key))'"
  case .valueNotFound(let type, let context):
    return "\(place(context.codingPath)) is null, expected \(jsonType(type))"
  case .typeMismatch(let type, let context):
    return "\(place(context.codingPath)) is not \(jsonType(type))"
  case .dataCorrupted(let context):
    if context.codingPath.isEmpty { return "not valid JSON (\(context.debugDescription))" }
    return "\(place(context.codingPath)): \(context.debugDescription)"
  @unknown default:
    return "\(error)"
  }
}

/// Why a training state could not be written or read.
public enum TrainingStateError: Error, Equatable, CustomStringConvertible {
  /// No file at the path.
  case missing(path: String)
  /// The file could not be read or written.
  case io(path: String, reason: String)
  /// The file is not a valid training state; the reason names the field.
  case corrupt(path: String, reason: String)
  /// Written by a newer (or unknown) format.
  case unsupportedVersion(path: String, version: Int, supported: Int)
  /// The state holds a value JSON cannot represent.
  case unencodable(String)

  public var description: String {
    switch self {
    case .missing(let path):
      return "no training state at \(path)"
    case .io(let path, let reason):
      return "training state \(path): \(reason)"
    case .corrupt(let path, let reason):
      return "training state \(path) is corrupt: \(reason)"
    case .unsupportedVersion(let path, let version, let supported):
      return
        "training state \(path) has format version \(version); this diswot reads versions 1...\(supported)"
    case .unencodable(let reason):
      return "cannot encode training state: \(reason)"
    }
  }
}
