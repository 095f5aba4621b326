import DiswotStore
import DiswotTensor
import Foundation
import XCTest

/// `kill -9` of a real writer process at arbitrary moments: the store must come back
/// intact, with exactly the evaluations its engine checkpoint counts, and let a new writer
/// carry on. The writer is `diswot-store-crashtest` (Sources/diswot-store-crashtest), built
/// beside this test bundle.
final class CrashSafetyTests: XCTestCase {
  private let searchID = "s-crash"

  /// The helper executable next to the test bundle (as `Executables` finds `diswot`).
  private func helper() throws -> URL {
    let url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
      .appendingPathComponent("diswot-store-crashtest")
    guard FileManager.default.isExecutableFile(atPath: url.path) else {
      XCTFail("\(url.path) is not built (swift build --build-tests builds it)")
      throw CocoaError(.fileNoSuchFile)
    }
    return url
  }

  /// Starts a writer that continues the search up to evaluation `stopAt`.
  private func startWriter(_ path: String, stopAt: Int) throws -> (Process, Pipe) {
    let process = Process()
    process.executableURL = try helper()
    process.arguments = [path, searchID, String(stopAt)]
    let errors = Pipe()
    process.standardOutput = FileHandle.nullDevice
    process.standardError = errors
    try process.run()
    return (process, errors)
  }

  /// Reopens the database as the daemon would after a crash and checks every promise;
  /// returns how many evaluations it holds.
  private func verify(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws -> Int {
    let store = try Store(path: path)
    defer { store.database.close() }
    try store.checkIntegrity()
    XCTAssertEqual(try store.database.query("PRAGMA foreign_key_check") { $0.string(0) }.count, 0, file: file, line: line)
    let search = try XCTUnwrap(try store.search(id: searchID), file: file, line: line)
    XCTAssertEqual(search.state, .running, file: file, line: line)
    let engine = try XCTUnwrap(
      try JSONSerialization.jsonObject(with: Data(try XCTUnwrap(search.engineJSON).utf8)) as? [String: Any])
    let n = try XCTUnwrap(engine["n"] as? Int, file: file, line: line)
    // Exactly the evaluations the checkpoint counts: none lost, none twice, none extra.
    XCTAssertEqual(try store.evaluationCount(searchID: searchID), n, "rows vs checkpoint", file: file, line: line)
    let evaluations = try store.evaluations(searchID: searchID)
    XCTAssertEqual(evaluations.map(\.key), (0..<n).map { "k\($0 + 1)" }, file: file, line: line)
    XCTAssertFalse(evaluations.contains { $0.score == 1e9 }, "a duplicate overwrote a result", file: file, line: line)
    return n
  }

  func testKillNineMidWriteLosesNothingAndCountsNothingTwice() throws {
    let path = try makeScratchDirectory().appendingPathComponent("state.db").path
    do {
      let store = try Store(path: path)
      try store.insertSearch(id: searchID, specJSON: #"{"space":"crash"}"#, engineJSON: #"{"n":0}"#)
    }
    // A reader on its own connection watches the writer's progress (WAL: no blocking).
    let watcher = try Store(path: path)
    var count = 0
    var rng = SeededGenerator(seed: 0xC4A5)  // the kill delays replay; the writer's timing cannot
    for round in 1...8 {
      let (writer, errors) = try startWriter(path, stopAt: Int.max / 2)
      let deadline = Date().addingTimeInterval(20)
      while try watcher.evaluationCount(searchID: searchID) < count + 10 + round * 5 {
        guard writer.isRunning, Date() < deadline else { break }
        usleep(1000)
      }
      usleep(UInt32.random(in: 0...15_000, using: &rng))  // land anywhere in a commit or checkpoint
      let wasRunning = writer.isRunning
      kill(writer.processIdentifier, SIGKILL)
      writer.waitUntilExit()
      let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      XCTAssertTrue(wasRunning, "round \(round): the writer stopped by itself: \(stderr)")
      XCTAssertEqual(writer.terminationReason, .uncaughtSignal, "round \(round): \(stderr)")
      XCTAssertEqual(writer.terminationStatus, SIGKILL)

      let recovered = try verify(path)
      XCTAssertGreaterThanOrEqual(recovered, count + 10 + round * 5, "round \(round): progress was lost")
      count = recovered
      print("round \(round): killed and reopened with \(count) evaluations")
    }

    // After the last crash a new writer continues from the checkpoint and finishes.
    let (writer, errors) = try startWriter(path, stopAt: count + 25)
    writer.waitUntilExit()
    let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    XCTAssertEqual(writer.terminationReason, .exit, stderr)
    XCTAssertEqual(writer.terminationStatus, 0, stderr)
    XCTAssertEqual(try verify(path), count + 25)
    XCTAssertEqual(try watcher.evaluationCount(searchID: searchID), count + 25)
  }
}
