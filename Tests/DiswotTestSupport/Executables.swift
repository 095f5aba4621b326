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

  /// The path of executable `name`, as a user would type it.
  public static func path(_ name: String) -> String { buildDirectory.appendingPathComponent(name).path }

  /// Starts `name` without waiting (for tests that kill it or signal it); standard output
  /// goes to /dev/null, standard error to `standardError` when given (else /dev/null).
  public static func start(_ name: String, _ arguments: [String], standardError: URL? = nil) throws -> Process {
    let process = Process()
    process.executableURL = buildDirectory.appendingPathComponent(name)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    if let standardError {
      _ = FileManager.default.createFile(atPath: standardError.path, contents: nil)
      process.standardError = try FileHandle(forWritingTo: standardError)
    } else {
      process.standardError = FileHandle.nullDevice
    }
    try process.run()
    return process
  }

  /// Runs `name` (e.g. "diswot") with `arguments`, waiting for it to finish; in
  /// `directory` when given (for relative paths), else in the test's own.
  public static func run(
    _ name: String, _ arguments: [String], in directory: URL? = nil, file: StaticString = #filePath, line: UInt = #line
  ) throws -> Result {
    let url = buildDirectory.appendingPathComponent(name)
    guard FileManager.default.isExecutableFile(atPath: url.path) else {
      XCTFail("\(url.path) is not built", file: file, line: line)
      throw CocoaError(.fileNoSuchFile)
    }
    let process = Process()
    process.executableURL = url
    process.arguments = arguments
    process.currentDirectoryURL = directory
    return try collect(process)
  }

  /// Runs `script` with bash, as a user's shell session would: errors stop it (`set -euo
  /// pipefail`), and any background job it leaves (a daemon started with `&`) is killed and
  /// waited for when it ends, so a failing step leaves nothing running. `environment`
  /// entries replace the inherited ones (e.g. `HOME`).
  /// With `privateNetwork`, as root the script runs in a network namespace of its own
  /// (`unshare --net`, loopback up), so fixed ports such as the daemon's defaults cannot
  /// meet another test run's processes on this machine; elsewhere it shares the host's.
  public static func bash(
    _ script: String, environment: [String: String] = [:], in directory: URL? = nil, privateNetwork: Bool = false
  ) throws -> Result {
    let process = Process()
    let prologue = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true; wait' EXIT\n"
    if privateNetwork && getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") {
      process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
      process.arguments = ["--net", "--", "/bin/bash", "-c", "ip link set lo up\n" + prologue + script]
    } else {
      process.executableURL = URL(fileURLWithPath: "/bin/bash")
      process.arguments = ["-c", prologue + script]
    }
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    process.currentDirectoryURL = directory
    return try collect(process)
  }

  /// Starts `diswot train --out directory …` and kills it with SIGKILL once a checkpoint
  /// from the middle of its second epoch exists (epoch ≥ 1, a step into it), as a crash
  /// would; true when it was killed so, false when it ended first or `seconds` ran out.
  public static func trainKilledMidEpoch(out directory: String, _ arguments: [String], seconds: Double = 120) throws -> Bool {
    let victim = try start("diswot", ["train", "--out", directory] + arguments)
    let deadline = Date().addingTimeInterval(seconds)
    defer { victim.waitUntilExit() }
    while victim.isRunning && Date() < deadline {
      if let data = FileManager.default.contents(atPath: directory + "/checkpoint.json"),
        let state = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
        (state["epoch"] as? Int ?? 0) >= 1, (state["step_in_epoch"] as? Int ?? 0) > 0
      {
        kill(victim.processIdentifier, SIGKILL)
        return true
      }
      usleep(2_000)
    }
    if victim.isRunning { kill(victim.processIdentifier, SIGKILL) }
    return false
  }

  /// `sha256sum FILE`'s digest, as a user would check a recorded hash.
  public static func sha256sum(_ path: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["sha256sum", path]
    return String(try collect(process).standardOutput.prefix(64))
  }

  /// Starts `process` and waits for it, collecting both output streams.
  private static func collect(_ process: Process) throws -> Result {
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
