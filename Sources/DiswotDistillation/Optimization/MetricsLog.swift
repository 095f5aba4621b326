import DiswotFiles
import DiswotJSON
import Foundation

#if canImport(Glibc)
  import Glibc
  /// POSIX `close`, out of reach of `MetricsLog.close()` inside the class.
  private func closeDescriptor(_ descriptor: Int32) { _ = Glibc.close(descriptor) }
#elseif canImport(Darwin)
  import Darwin
  private func closeDescriptor(_ descriptor: Int32) { _ = Darwin.close(descriptor) }
#endif

/// One epoch's line of `metrics.jsonl`, e.g.
/// `{"epoch":0,"images_per_second":812.5,"losses":{"ce":2.1,"kd":0.9,"total":3.0},"lr":0.05,"seconds":61.5,"test_accuracy":0.41,"train_accuracy":0.33}`.
/// Accuracies are fractions in [0, 1]; a missing accuracy (not measured that epoch) is
/// left out of the line. A non-finite number is written as `null` (`JSONText`'s rule; the
/// trainer stops a run whose loss diverges before its epoch is logged) and read back as
/// NaN, as are the strings "nan", "inf" and "-inf" older versions wrote.
public struct EpochMetrics: Codable, Sendable, Equatable {
  /// Epoch, from 0.
  public var epoch: Int
  /// Learning rate the epoch trained at (its first step's, for per-step schedules).
  public var learningRate: Double
  /// Mean loss terms over the epoch, by name ("ce", "kd", "total", …).
  public var losses: [String: Double]
  public var trainAccuracy: Double?
  public var testAccuracy: Double?
  /// Training throughput.
  public var imagesPerSecond: Double
  /// Wall-clock time of the epoch.
  public var seconds: Double
  /// Multi-teacher KD only (nil, left out of the line, otherwise): each teacher's weight
  /// and share of the KD term, `spec.teacher` first.
  public var teachers: [TeacherShare]?

  /// One teacher of a multi-teacher run in an epoch's line.
  public struct TeacherShare: Codable, Sendable, Equatable {
    /// Its weights file.
    public var weights: String
    /// Its weight in the KD term (`TrainingSpec.teacherMix`).
    public var mix: Double
    /// Its own KD term, the epoch's mean (`losses["kd_teacher<i>"]`).
    public var kd: Double
    /// mix·kd over Σ mix·kd: how much of the KD loss this teacher made (its mix when all are 0).
    public var share: Double

    public init(weights: String, mix: Double, kd: Double, share: Double) {
      (self.weights, self.mix, self.kd, self.share) = (weights, mix, kd, share)
    }
  }

  public init(
    epoch: Int, learningRate: Double, losses: [String: Double], teachers: [TeacherShare]? = nil, trainAccuracy: Double? = nil,
    testAccuracy: Double? = nil, imagesPerSecond: Double, seconds: Double
  ) {
    self.epoch = epoch
    self.learningRate = learningRate
    self.losses = losses
    self.teachers = teachers
    self.trainAccuracy = trainAccuracy
    self.testAccuracy = testAccuracy
    self.imagesPerSecond = imagesPerSecond
    self.seconds = seconds
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    func number(_ key: CodingKeys) throws -> Double { try c.decodeNil(forKey: key) ? .nan : c.decode(Double.self, forKey: key) }
    epoch = try c.decode(Int.self, forKey: .epoch)
    learningRate = try number(.learningRate)
    losses = try c.decode([String: Double?].self, forKey: .losses).mapValues { $0 ?? .nan }
    trainAccuracy = try c.decodeIfPresent(Double.self, forKey: .trainAccuracy)
    testAccuracy = try c.decodeIfPresent(Double.self, forKey: .testAccuracy)
    imagesPerSecond = try number(.imagesPerSecond)
    seconds = try number(.seconds)
    teachers = try c.decodeIfPresent([TeacherShare].self, forKey: .teachers)
  }

  enum CodingKeys: String, CodingKey {
    case epoch
    case learningRate = "lr"
    case losses
    case trainAccuracy = "train_accuracy"
    case testAccuracy = "test_accuracy"
    case imagesPerSecond = "images_per_second"
    case seconds
    case teachers
  }
}

/// The training log `DIR/metrics.jsonl`: one JSON object per epoch, appended and flushed
/// to disk line by line, so that a run killed at any moment keeps every finished epoch.
///
/// A crash can at worst leave a torn last line without its newline; readers skip it and
/// opening the log for appending cuts it off, so that the next line starts cleanly. To
/// resume from a checkpoint at epoch e, open with `discardingFromEpoch: e`, which first
/// (atomically) drops the lines of epochs the resumed run will train again.
public final class MetricsLog: @unchecked Sendable {
  // @unchecked Sendable: the descriptor is only used under `lock`.
  public static let fileName = "metrics.jsonl"

  /// Path of the log file.
  public let path: String
  private var descriptor: Int32
  private let lock = NSLock()

  /// Opens (creating if needed) `directory/metrics.jsonl` for appending; `directory` is
  /// created too. With `discardingFromEpoch` e, lines of epochs ≥ e are removed first.
  public init(directory: String, discardingFromEpoch: Int? = nil) throws(MetricsLogError) {
    let path = Self.path(directory: directory)
    self.path = path
    do {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    } catch {
      throw .io(path: directory, reason: "cannot create the directory: \(error.localizedDescription)")
    }
    if let epoch = discardingFromEpoch {
      try Self.discard(path: path, fromEpoch: epoch)
    }
    descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else {
      throw .io(path: path, reason: DurableFileError.lastError("cannot open").reason)
    }
    do {
      try cutTornLine()
    } catch {
      closeDescriptor(descriptor)
      throw error
    }
  }

  deinit { close() }

  /// `directory/metrics.jsonl`.
  public static func path(directory: String) -> String {
    directory.hasSuffix("/") ? directory + fileName : directory + "/" + fileName
  }

  /// Appends one line and flushes it to disk before returning.
  public func append(_ metrics: EpochMetrics) throws(MetricsLogError) {
    var line: [UInt8]
    do {
      line = Array(try JSONText.data(metrics))
    } catch {
      throw .io(path: path, reason: "cannot encode epoch \(metrics.epoch): \(error)")
    }
    line.append(UInt8(ascii: "\n"))
    lock.lock()
    defer { lock.unlock() }
    guard descriptor >= 0 else { throw .io(path: path, reason: "the log is closed") }
    do {
      try DurableFile.writeAll(descriptor, line, path: path)
    } catch {
      throw .io(path: path, reason: error.reason)
    }
    guard fsync(descriptor) == 0 else {
      throw .io(path: path, reason: DurableFileError.lastError("cannot flush").reason)
    }
  }

  /// Closes the file; later appends fail.
  public func close() {
    lock.lock()
    defer { lock.unlock() }
    if descriptor >= 0 {
      closeDescriptor(descriptor)
      descriptor = -1
    }
  }

  /// Every complete line of `directory/metrics.jsonl`, in file order.
  public static func read(directory: String) throws(MetricsLogError) -> [EpochMetrics] {
    try read(path: path(directory: directory))
  }

  /// Every complete line of the log at `path`; a torn final line (no newline) is skipped,
  /// any other line that is not a valid entry is an error naming its line number.
  public static func read(path: String) throws(MetricsLogError) -> [EpochMetrics] {
    let bytes: [UInt8]
    do {
      bytes = try DurableFile.readAll(path: path)
    } catch {
      throw error.isMissing ? .missing(path: path) : .io(path: path, reason: error.reason)
    }
    return try parse(bytes, path: path).entries
  }

  // MARK: - Internals

  /// Reads `null` (see `EpochMetrics`) and the strings of older logs.
  private static var decoder: JSONDecoder {
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return decoder
  }

  /// Complete entries with their lines' bytes (newline included).
  private static func parse(_ bytes: [UInt8], path: String) throws(MetricsLogError)
    -> (entries: [EpochMetrics], lines: [ArraySlice<UInt8>])
  {
    var entries: [EpochMetrics] = []
    var lines: [ArraySlice<UInt8>] = []
    var start = 0
    var lineNumber = 0
    let decoder = decoder
    while let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
      lineNumber += 1
      let line = bytes[start..<newline]
      do {
        entries.append(try decoder.decode(EpochMetrics.self, from: Data(line)))
      } catch {
        throw .corrupt(path: path, line: lineNumber, reason: describeDecodingError(error))
      }
      lines.append(bytes[start...newline])
      start = newline + 1
    }
    return (entries, lines)
  }

  /// Rewrites the log at `path` without the lines of epochs ≥ `epoch` (and without a torn
  /// last line); nothing to do when there is no log yet.
  private static func discard(path: String, fromEpoch epoch: Int) throws(MetricsLogError) {
    let bytes: [UInt8]
    do {
      bytes = try DurableFile.readAll(path: path)
    } catch {
      if error.isMissing { return }
      throw .io(path: path, reason: error.reason)
    }
    let (entries, lines) = try parse(bytes, path: path)
    var kept: [UInt8] = []
    for (entry, line) in zip(entries, lines) where entry.epoch < epoch { kept += line }
    guard kept != bytes else { return }
    do {
      try DurableFile.writeAtomically(path: path, bytes: kept)
    } catch {
      throw .io(path: path, reason: error.reason)
    }
  }

  /// Truncates the file after its last newline when a crash left a partial line.
  private func cutTornLine() throws(MetricsLogError) {
    let size = lseek(descriptor, 0, SEEK_END)
    guard size > 0 else { return }
    let bytes: [UInt8]
    do {
      bytes = try DurableFile.readAll(path: path)
    } catch {
      throw .io(path: path, reason: error.reason)
    }
    guard let last = bytes.last, last != UInt8(ascii: "\n") else { return }
    let keep = bytes.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
    guard ftruncate(descriptor, off_t(keep)) == 0, fsync(descriptor) == 0 else {
      throw .io(path: path, reason: DurableFileError.lastError("cannot cut a torn last line").reason)
    }
  }
}

/// Why the metrics log could not be written or read.
public enum MetricsLogError: Error, Equatable, CustomStringConvertible {
  /// No log file at the path.
  case missing(path: String)
  /// The file could not be created, read or written.
  case io(path: String, reason: String)
  /// A complete line is not a valid entry; `line` counts from 1.
  case corrupt(path: String, line: Int, reason: String)

  public var description: String {
    switch self {
    case .missing(let path):
      return "no metrics log at \(path)"
    case .io(let path, let reason):
      return "metrics log \(path): \(reason)"
    case .corrupt(let path, let line, let reason):
      return "metrics log \(path), line \(line): \(reason)"
    }
  }
}
