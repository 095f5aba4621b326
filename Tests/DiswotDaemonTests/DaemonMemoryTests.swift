import DiswotJSON
import DiswotStore
import DiswotTestSupport
import DiswotWire
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Memory limits through a real diswotd and workers: `search.start` is refused when the
/// set-up cannot fit the daemon's `--max-memory`, and a candidate over a worker's own
/// limit is answered `too_large`, tried again, then recorded unscorable — the worker never
/// builds it (a worker used to die allocating such a network).
final class DaemonMemoryTests: XCTestCase {
  /// A resnet-cifar space file in `directory` with the given options in each of three stages.
  private func space(_ name: String, in directory: URL, depths: [Int], widths: [Int]) throws -> String {
    let path = directory.appendingPathComponent("\(name).json").path
    try """
      {"format": "diswot.search-space.v1", "name": "\(name)", "description": "test", "family": "resnet-cifar",
       "input": {"channels": 3, "height": 32, "width": 32}, "classes": 10, "settings": {"shortcut": "B", "classifier": "fc"},
       "choices": {"depths": [\(Array(repeating: "\(depths)", count: 3).joined(separator: ","))],
                   "widths": [\(Array(repeating: "\(widths)", count: 3).joined(separator: ","))]}}
      """.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  func testSearchStartIsRefusedWhenNothingCanFit() throws {
    let dir = try scratchDirectory(self)
    let daemon = try DaemonUnderTest(
      state: dir.appendingPathComponent("state"), dataRoot: dir, extra: ["--max-memory", "64M"], log: dir.appendingPathComponent("daemon.log"))
    defer { daemon.child.stop() }
    // The default teacher (ResNet-56) on a probe batch of 64.
    let teacher = try runCommand("diswot", ["search", "start", "--daemon", daemon.client, "--space", "resnet-cifar-depth", "--proxy", "diswot"])
    XCTAssertEqual(teacher.status, 3, teacher.stderr)
    XCTAssertTrue(teacher.stderr.contains("the teacher needs an estimated"), teacher.stderr)
    XCTAssertTrue(teacher.stderr.contains("over the memory limit of 64 MiB"), teacher.stderr)
    // A space that passes validation, every architecture 64 blocks deep and 4096 wide.
    let huge = try space("huge", in: dir, depths: [64], widths: [4096])
    let nothing = try runCommand("diswot", [
      "search", "start", "--daemon", daemon.client, "--space", huge, "--teacher", "resnet8", "--batch", "2", "--proxy", "diswot",
    ])
    XCTAssertEqual(nothing.status, 3, nothing.stderr)
    XCTAssertTrue(nothing.stderr.contains("no architecture of huge fits: even the smallest, depths=64,64,64;widths=4096,4096,4096"), nothing.stderr)
    let list = try XCTUnwrap(ask(try daemon.pirate(), .searchList))
    XCTAssertEqual(list["searches"].arrayValue?.count, 0, "nothing was started")
    let local = try runCommand("diswot", ["search", "start", "--daemon", daemon.client, "--space", huge, "--max-memory", "1G"])
    XCTAssertEqual(local.status, 2, "the daemon's limit applies: \(local.stderr)")
  }

  func testACandidateTooLargeForItsWorkerIsRecordedUnscorable() throws {
    let dir = try scratchDirectory(self)
    let daemon = try DaemonUnderTest(
      state: dir.appendingPathComponent("state"), dataRoot: dir, extra: ["--max-memory", "8G"], log: dir.appendingPathComponent("daemon.log"))
    defer { daemon.child.stop() }
    // A worker on a smaller machine: candidates whose first stage is 256 wide need more
    // than its 100 MiB (about 180 MiB on a probe batch of 8); the others fit.
    let worker = try Child(
      "diswot-worker", ["--connect", daemon.workers, "--capabilities", "score", "--heartbeat-ms", "250", "--liveness", "4", "--max-memory", "100M"],
      log: dir.appendingPathComponent("worker.log"))
    defer { worker.stop() }
    let mix = try space("mix", in: dir, depths: [1], widths: [16, 256])
    let result = try runCommand("diswot", [
      "search", "start", "--daemon", daemon.client, "--space", mix, "--teacher", "resnet8", "--batch", "8", "--proxy", "diswot",
      "--strategy", "random", "--budget", "8", "--top", "8", "--wait", "--json",
    ])
    XCTAssertEqual(result.status, 0, result.stderr + daemon.child.logText + worker.logText)
    let report = try XCTUnwrap(result.json, result.stdout)
    XCTAssertEqual(report["evaluations"], 4)
    let unscorable = report["unscorable"].arrayValue ?? []
    XCTAssertEqual(unscorable.count, 4)
    for u in unscorable {
      XCTAssertTrue(u["key"].stringValue?.contains("widths=256,") ?? false, "\(u)")
      XCTAssertTrue(u["reason"].stringValue?.contains("over the memory limit of 100 MiB (--max-memory)") ?? false, "\(u)")
    }
    XCTAssertTrue((report["best"].arrayValue ?? []).allSatisfy { $0["key"].stringValue?.contains("widths=16,") ?? false })
    XCTAssertTrue(worker.isRunning, "the worker refused the candidates rather than dying on them")
    XCTAssertTrue(daemon.child.logText.contains("is unscorable"), daemon.child.logText)
    let store = try daemon.store()
    defer { store.close() }
    let id = try XCTUnwrap(report["id"].stringValue)
    XCTAssertEqual(try store.unscorableCount(searchID: id), 4)
    XCTAssertEqual(try store.search(id: id)?.state, .finished)
  }
}
