import DiswotTestSupport
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// One daemon per state directory (issue 11, item 7), with real processes: a second
/// `diswotd` on the same `--state-dir` exits non-zero naming the first one's pid; once the
/// first is gone — even by `kill -9` — the directory is free again.
final class StateDirectoryLockTests: XCTestCase {
  func testASecondDaemonOnTheSameStateDirectoryIsRefused() throws {
    let dir = try scratchDirectory(self)
    let state = dir.appendingPathComponent("state")
    let first = try DaemonUnderTest(state: state, dataRoot: dir, log: dir.appendingPathComponent("first.log"))
    defer { first.child.stop() }

    let second = try runCommand("diswotd", [
      "--state-dir", state.path, "--data-root", dir.path, "--client", "tcp://127.0.0.1:*", "--workers", "tcp://127.0.0.1:*",
      "--events", "tcp://127.0.0.1:*",
    ], timeout: 30)
    XCTAssertEqual(second.status, 1, second.stderr)
    XCTAssertTrue(second.stderr.contains("is in use by another diswotd (pid \(first.child.pid)"), second.stderr)
    XCTAssertTrue(first.child.isRunning)
    XCTAssertEqual(try String(contentsOf: state.appendingPathComponent("diswotd.lock"), encoding: .utf8), "\(first.child.pid)\n")

    // kill -9 leaves the file behind but not the lock.
    first.child.stop(SIGKILL)
    let third = try DaemonUnderTest(state: state, dataRoot: dir, log: dir.appendingPathComponent("third.log"))
    defer { third.child.stop() }
    XCTAssertEqual(try String(contentsOf: state.appendingPathComponent("diswotd.lock"), encoding: .utf8), "\(third.child.pid)\n")
    XCTAssertEqual(ask(try third.pirate(), .health)?["status"], "ok")
  }
}
