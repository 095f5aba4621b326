import Foundation
import XCTest

/// Runs the package's own executables as real processes, the way a user does.
public enum Executables {
  /// The build directory holding the test bundle and, beside it, every executable product.
  private static var buildDirectory: URL {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
  }

  /// What a finished process left behind.
  public struct Result {
    public var status: Int32
    public var standardOutput: String
    public var standardError: String
    /// True when the process ended by a signal (a crash), not by exiting.
    public var crashed: Bool
  }

  /// Starts `name` without waiting (for tests that kill it); output goes to /dev/null.
  public static func start(_ name: String, _ arguments: [String]) throws -> Process {
    let process = Process()
    process.executableURL = buildDirectory.appendingPathComponent(name)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process
  }

  /// Runs `name` (e.g. "diswot") with `arguments`, waiting for it to finish.
  public static func run(_ name: String, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> Result {
    let url = buildDirectory.appendingPathComponent(name)
    guard FileManager.default.isExecutableFile(atPath: url.path) else {
      XCTFail("\(url.path) is not built", file: file, line: line)
      throw CocoaError(.fileNoSuchFile)
    }
    let process = Process()
    process.executableURL = url
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both pipes while the process runs so a full pipe cannot block it.
    final class Box: @unchecked Sendable { var data = Data() }
    let errData = Box()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
      errData.data = err.fileHandleForReading.readDataToEndOfFile()
      group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return Result(
      status: process.terminationStatus,
      standardOutput: String(decoding: outData, as: UTF8.self),
      standardError: String(decoding: errData.data, as: UTF8.self),
      crashed: process.terminationReason == .uncaughtSignal)
  }
}
