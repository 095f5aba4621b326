import DiswotJSON
import DiswotTestSupport
import DiswotWire
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// `diswotd --curve`: only clients and workers whose public key is in --authorized-keys get
/// any service; with the right keys everything works (local workers included).
final class DaemonCurveTests: XCTestCase {
  func testCurveServesOnlyAuthorisedKeys() throws {
    guard Curve.isAvailable else { throw XCTSkip("libzmq without CURVE") }
    let dir = try scratchDirectory(self)
    let keys = dir.appendingPathComponent("keys")
    let authorized = dir.appendingPathComponent("authorized")
    try FileManager.default.createDirectory(at: authorized, withIntermediateDirectories: true)
    for name in ["server", "alice", "worker", "mallory"] {
      let made = try runCommand("diswot", ["keygen", "--out", keys.path, "--name", name, "--json"])
      XCTAssertEqual(made.status, 0, made.stderr)
    }
    let again = try runCommand("diswot", ["keygen", "--out", keys.path, "--name", "alice"])
    XCTAssertEqual(again.status, 3, "keygen does not overwrite without --force")
    for name in ["alice", "worker"] {
      try FileManager.default.copyItem(at: keys.appendingPathComponent("\(name).key"), to: authorized.appendingPathComponent("\(name).key"))
    }
    let secretMode = try FileManager.default.attributesOfItem(atPath: keys.appendingPathComponent("alice.key_secret").path)[.posixPermissions] as? Int
    XCTAssertEqual(secretMode, 0o600)

    let daemon = try DaemonUnderTest(
      state: dir.appendingPathComponent("state"), dataRoot: dir, localWorkers: 1,
      extra: ["--curve", "--server-key", keys.appendingPathComponent("server.key_secret").path, "--authorized-keys", authorized.path],
      log: dir.appendingPathComponent("daemon.log"))
    defer { daemon.child.stop() }
    let serverPublic = keys.appendingPathComponent("server.key").path
    func workerArgs(_ key: String) -> [String] {
      ["--connect", daemon.workers, "--heartbeat-ms", "250", "--liveness", "4", "--name", key, "--curve-server-key", serverPublic,
       "--key", keys.appendingPathComponent("\(key).key_secret").path]
    }
    let good = try Child("diswot-worker", workerArgs("worker"), log: dir.appendingPathComponent("worker.log"))
    let bad = try Child("diswot-worker", workerArgs("mallory"), log: dir.appendingPathComponent("mallory.log"))
    let plain = try Child("diswot-worker", ["--connect", daemon.workers, "--name", "plain"], log: dir.appendingPathComponent("plain.log"))
    defer {
      good.stop()
      bad.stop()
      plain.stop()
    }

    let alice = ["--daemon", daemon.client, "--curve-server-key", serverPublic, "--key", keys.appendingPathComponent("alice.key_secret").path]
    try waitUntil(30, "the local and the authorised worker") {
      let result = try runCommand("diswot", ["workers", "--json"] + alice, timeout: 30)
      return result.json?["workers"].arrayValue?.count == 2
    }
    usleep(1_000_000)  // give the refused workers time to (fail to) register
    let listed = try XCTUnwrap(try runCommand("diswot", ["workers", "--json"] + alice).json)["workers"].arrayValue ?? []
    XCTAssertEqual(Set(listed.compactMap { $0["user"].stringValue }), ["local-worker", "worker"])
    XCTAssertFalse(listed.contains { ["mallory", "plain"].contains($0["name"].stringValue ?? "") })

    // Clients without a key, or with one not on the list, get no service at all.
    let noKey = try runCommand("diswot", ["health", "--daemon", daemon.client, "--timeout-ms", "300"])
    XCTAssertEqual(noKey.status, 4, noKey.stderr)
    let wrongKey = try runCommand("diswot", [
      "health", "--daemon", daemon.client, "--timeout-ms", "300", "--curve-server-key", serverPublic,
      "--key", keys.appendingPathComponent("mallory.key_secret").path,
    ])
    XCTAssertEqual(wrongKey.status, 4, wrongKey.stderr)
    XCTAssertTrue(daemon.child.logText.contains("public key is not on the allow-list"))

    // With the right key: a whole search, events included (--wait).
    let search = try runCommand("diswot", [
      "search", "start", "--space", "resnet-cifar-depth", "--teacher", "resnet20", "--batch", "16", "--proxy", "diswot", "--budget", "8", "--strategy",
      "random", "--wait", "--json",
    ] + alice)
    XCTAssertEqual(search.status, 0, search.stderr + daemon.child.logText)
    XCTAssertEqual(search.json?["evaluations"], 8)
    XCTAssertTrue(daemon.child.logText.contains("started by alice"), daemon.child.logText)
  }
}
