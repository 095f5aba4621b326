import DiswotJSON
import DiswotTestSupport
import DiswotWire
import Foundation
import XCTest

/// `diswot teachers` as a daemon job (`teachers.start`): run by a worker, the same ranking
/// as the local command, checked on arrival, kept in the store across restarts.
final class TeacherRankingDaemonTests: XCTestCase {
  /// Two differently shaped candidates (random weights of `diswot export`) and a small
  /// CIFAR-format dataset, all inside `dir` (the daemon's data root).
  private func fixture(_ dir: URL) throws -> (data: String, candidates: [String]) {
    let cifar = dir.appendingPathComponent("cifar")
    try writeCIFARFixture(to: cifar, train: 40, test: 4)
    var candidates: [String] = []
    for model in ["resnet8", "resnet14"] {
      let weights = dir.appendingPathComponent("\(model).safetensors").path
      let export = try runCommand("diswot", ["export", "--model", model, "--out", dir.appendingPathComponent("\(model).py").path, "--weights-out", weights])
      XCTAssertEqual(export.status, 0, export.stderr)
      candidates.append(weights)
    }
    return ("cifar10:\(cifar.path)", candidates)
  }

  /// The ranking a client prints for a daemon job is the local command's, score for score;
  /// the job's result is in the store, and a restarted daemon still answers it.
  func testTheDaemonRanksAsTheLocalCommandDoesAndKeepsTheResultAcrossARestart() throws {
    let dir = try scratchDirectory(self)
    let (data, candidates) = try fixture(dir)
    let options = ["--data", data, "--candidates", candidates.joined(separator: ","), "--k", "3", "--limit", "30", "--batch", "8", "--json"]
    let local = try runCommand("diswot", ["teachers", "--threads", "1"] + options, timeout: 300)
    XCTAssertEqual(local.status, 0, local.stderr)
    let expected = try XCTUnwrap(local.json, local.stdout)

    let state = dir.appendingPathComponent("state")
    let log = dir.appendingPathComponent("daemon.log")
    var daemon = try DaemonUnderTest(state: state, dataRoot: dir, localWorkers: 1, extra: ["--http", "127.0.0.1:0"], log: log)
    defer { daemon.child.stop() }
    let started = try runCommand("diswot", ["teachers", "start", "--daemon", daemon.client] + options)
    XCTAssertEqual(started.status, 0, started.stderr)
    let id = try XCTUnwrap(started.json?["id"].stringValue, started.stdout)
    let watched = try runCommand("diswot", ["teachers", "watch", id, "--json", "--daemon", daemon.client], timeout: 300)
    XCTAssertEqual(watched.status, 0, watched.stderr + "\n" + daemon.child.logText)
    let ranking = try XCTUnwrap(watched.json, watched.stdout)
    assertSameRanking(ranking, expected)
    // Its page, live and as `diswot report` writes it: the ranking, not a training job's.
    let health = try runCommand("diswot", ["health", "--json", "--daemon", daemon.client])
    let port = try XCTUnwrap(health.json?["endpoints"]["http"].stringValue.flatMap { UInt16($0.split(separator: ":").last!) })
    let page = try HTTPExchange.get("/jobs/\(id)", port: port)
    XCTAssertEqual(page.status, 200)
    let index = try HTTPExchange.get("/", port: port)
    XCTAssertTrue(index.body.contains("<a href=\"/jobs/\(id)\">"), index.body)
    XCTAssertTrue(index.body.contains("teacher ranking: 2 candidates"), index.body)
    let out = dir.appendingPathComponent("ranking.html").path
    let report = try runCommand("diswot", ["report", id, "--html", out, "--daemon", daemon.client])
    XCTAssertEqual(report.status, 0, report.stderr)
    for body in [page.body, try String(contentsOfFile: out, encoding: .utf8)] {
      XCTAssertTrue(body.contains("<h1>Teacher ranking \(id)</h1>"), body)
      XCTAssertTrue(body.contains("<code>resnet14</code>"), body)
      // Both candidates have the data's classes: the default measure (auto) is their heads' likelihood.
      XCTAssertTrue(body.contains("the mean log-likelihood each candidate&#39;s own classifier gives the true labels"), body)
      XCTAssertTrue(body.contains("<code>k</code></td><td><code>3</code>"), body)
      XCTAssertFalse(body.contains("epoch"), body)
      XCTAssertFalse(body.contains("http-equiv=\"refresh\""), "a finished ranking does not reload")
    }
    // `start --wait` prints the same document as `watch` (a second job, same inputs).
    let waited = try runCommand("diswot", ["teachers", "start", "--wait", "--daemon", daemon.client] + options, timeout: 300)
    XCTAssertEqual(waited.status, 0, waited.stderr)
    assertSameRanking(try XCTUnwrap(waited.json, waited.stdout), expected)

    // Durable: the result survives the daemon (no worker needed to read it back).
    XCTAssertTrue(daemon.child.stop())
    daemon = try DaemonUnderTest(state: state, dataRoot: dir, localWorkers: 0, log: log)
    let status = try runCommand("diswot", ["teachers", "status", id, "--json", "--daemon", daemon.client])
    XCTAssertEqual(status.status, 0, status.stderr)
    XCTAssertEqual(status.json?["state"].stringValue, "finished")
    XCTAssertEqual(status.json?["kind"].stringValue, "teachers")
    XCTAssertEqual(status.json?["result"], ranking)
    let table = try runCommand("diswot", ["teachers", "status", id, "--daemon", daemon.client])
    XCTAssertEqual(table.status, 0, table.stderr)
    XCTAssertTrue(table.stdout.contains("mean log-likelihood of the true labels under each head"), table.stdout)
    XCTAssertTrue(table.stdout.contains("resnet14"), table.stdout)
  }

  /// Same candidates in the same order, with the same scores and counts (paths compared
  /// resolved: the daemon resolves them inside its data root).
  private func assertSameRanking(_ got: JSONValue, _ expected: JSONValue, file: StaticString = #filePath, line: UInt = #line) {
    for key in ["split", "samples", "k", "measure"] { XCTAssertEqual(got[key], expected[key], key, file: file, line: line) }
    let (a, b) = (got["candidates"].arrayValue ?? [], expected["candidates"].arrayValue ?? [])
    XCTAssertEqual(a.count, 2, file: file, line: line)
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) {
      XCTAssertEqual(resolved(x["weights"].stringValue), resolved(y["weights"].stringValue), file: file, line: line)
      for key in ["rank", "model", "score", "knn_accuracy", "correct", "head_accuracy", "label_log_likelihood", "classes", "features", "note"] {
        XCTAssertEqual(x[key], y[key], key, file: file, line: line)
      }
    }
  }

  private func resolved(_ path: String?) -> String? { path.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path } }

  /// What the local command refuses, the daemon refuses on arrival, with a sentence naming
  /// the problem; and what only the daemon knows (its data root) too.
  func testBadRankingRequestsAreRefusedOnArrival() throws {
    let dir = try scratchDirectory(self)
    let (data, candidates) = try fixture(dir)
    let outside = try scratchDirectory(self)
    let stray = outside.appendingPathComponent("stray.safetensors")
    try FileManager.default.copyItem(atPath: candidates[0], toPath: stray.path)
    let daemon = try DaemonUnderTest(state: dir.appendingPathComponent("state"), dataRoot: dir, log: dir.appendingPathComponent("daemon.log"))
    defer { daemon.child.stop() }
    let pirate = try daemon.pirate()
    let hundred = dir.appendingPathComponent("resnet8-100.safetensors").path
    let export = try runCommand("diswot", ["export", "--model", "resnet8", "--classes", "100", "--out", dir.appendingPathComponent("r100.py").path, "--weights-out", hundred])
    XCTAssertEqual(export.status, 0, export.stderr)
    let base: [String: JSONValue] = ["data": .string(data), "candidates": .array(candidates.map(JSONValue.string)), "k": 3, "limit": 30]
    for (change, message) in [
      (["candidates": JSONValue.array([.string(dir.appendingPathComponent("missing.safetensors").path)])], "spec.candidates[0] \(dir.path)/missing.safetensors does not exist"),
      (["candidates": .array([.string(candidates[0]), .string(stray.path)])], "spec.candidates[1] \(stray.path) is outside the daemon's data root"),
      (["candidates": .array([.string(candidates[0]), .string(candidates[0])])], "twice"),
      (["candidates": .array([.string(candidates[0]), .string(dir.path + "/./resnet8.safetensors")])], "twice"),
      (["k": 30], "k 30 needs more than 30 images"),
      (["k": 0], "k must be an integer between 1 and 1000"),
      (["candidates": .array([])], "candidates needs at least one weights file"),
      (["data": .string("cifar10:\(outside.path)")], "is outside the daemon's data root"),
      (["split": "validation"], "split must be train or test"),
      (["mean": "0.5,0.5,0.5"], "mean and std go together"),
      (["threads": 2], "unknown field"),
      (["measure": "vibes"], "measure must be auto, likelihood or knn"),
      (["measure": "likelihood", "candidates": .array([.string(candidates[0]), .string(hundred)])], "has 100 classes"),
    ] as [([String: JSONValue], String)] {
      let spec = base.merging(change) { $1 }
      guard case .error(let error) = try pirate.call(.teachersStart, body: ["spec": .object(spec)]) else {
        XCTFail("\(message): accepted")
        continue
      }
      XCTAssertEqual(error.code, .invalidArgument, message)
      XCTAssertTrue(error.message.contains(message), "\(message): \(error.message)")
    }
    guard case .error(let missing) = try pirate.call(.teachersStatus, body: ["id": "t-none"]) else { return XCTFail("found t-none") }
    XCTAssertEqual(missing.code, .notFound)
    // Nothing was queued by any of them.
    XCTAssertEqual(try daemon.store().jobs().count, 0)

    // A good one waits for a worker that ranks (this daemon has none); `train cancel`
    // cancels it like any job, and following it then exits 5.
    let at = ["--daemon", daemon.client]
    let queued = try runCommand("diswot", ["teachers", "start", "--data", data, "--candidates", candidates.joined(separator: ","), "--k", "3"] + at)
    XCTAssertEqual(queued.status, 0, queued.stderr)
    let id = queued.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    let status = try runCommand("diswot", ["teachers", "status", id] + at)
    XCTAssertEqual(status.stdout, "\(id) queued\n")
    let listed = try runCommand("diswot", ["train", "list"] + at)
    XCTAssertTrue(listed.stdout.contains("teachers: 2 candidates"), listed.stdout)
    XCTAssertEqual(try runCommand("diswot", ["train", "cancel", id] + at).status, 0)
    let watched = try runCommand("diswot", ["teachers", "watch", id] + at)
    XCTAssertEqual(watched.status, 5, watched.stderr)
    XCTAssertTrue(watched.stderr.contains("teacher ranking \(id) was cancelled"), watched.stderr)
  }

  /// A ranking is seconds to minutes of forward passes: it runs on the worker, so the
  /// daemon answers at once while it runs, and `train.cancel` stops it between batches.
  func testTheDaemonAnswersWhileARankingRunsAndACancelStopsItsWorker() throws {
    let dir = try scratchDirectory(self)
    let (data, candidates) = try fixture(dir)
    let daemon = try DaemonUnderTest(
      state: dir.appendingPathComponent("state"), dataRoot: dir, localWorkers: 1, log: dir.appendingPathComponent("daemon.log"))
    defer { daemon.child.stop() }
    let pirate = try daemon.pirate()
    // 512×512 inputs: about 10 s per candidate here (a debug build), 2 images per batch.
    let spec: JSONValue = [
      "data": .string(data), "candidates": .array(candidates.map(JSONValue.string)), "k": 3, "limit": 40, "image_size": 512, "batch": 2,
    ]
    guard case .ok(let started) = try pirate.call(.teachersStart, body: ["spec": spec]), let id = started["id"].stringValue else {
      return XCTFail("not started")
    }
    try waitUntil(60, "the ranking's first batches") {
      (ask(pirate, .teachersStatus, ["id": .string(id)])?["progress"]["images"].intValue ?? 0) >= 2
    }
    for _ in 0..<5 {
      let asked = Date()
      XCTAssertEqual(ask(pirate, .health)?["status"].stringValue, "ok")
      XCTAssertLessThan(Date().timeIntervalSince(asked), 0.5, "the daemon answered late while a ranking ran")
    }
    let status = try XCTUnwrap(ask(pirate, .teachersStatus, ["id": .string(id)]))
    XCTAssertEqual(status["state"].stringValue, "running", "\(status)")
    XCTAssertLessThan(status["progress"]["images"].intValue ?? 40, 40, "the test needs a ranking still running: \(status)")
    XCTAssertEqual(ask(pirate, .trainCancel, ["id": .string(id)])?["state"].stringValue, "cancelled")
    try waitUntil(20, "the worker idle again") {
      ask(pirate, .workers)?["workers"][0]["busy"] == .bool(false) && daemon.child.logText.contains("job \(id): cancelled")
    }
    XCTAssertEqual(ask(pirate, .teachersStatus, ["id": .string(id)])?["state"].stringValue, "cancelled")
  }

  /// A ranking queued when the daemon stops is queued again when it starts, and runs.
  func testARankingQueuedBeforeARestartRunsAfterIt() throws {
    let dir = try scratchDirectory(self)
    let (data, candidates) = try fixture(dir)
    let (state, log) = (dir.appendingPathComponent("state"), dir.appendingPathComponent("daemon.log"))
    var daemon = try DaemonUnderTest(state: state, dataRoot: dir, localWorkers: 0, log: log)
    defer { daemon.child.stop() }
    let options = ["--data", data, "--candidates", candidates.joined(separator: ","), "--k", "3", "--limit", "20", "--json"]
    let started = try runCommand("diswot", ["teachers", "start", "--daemon", daemon.client] + options)
    let id = try XCTUnwrap(started.json?["id"].stringValue, started.stdout + started.stderr)
    XCTAssertTrue(daemon.child.stop())
    daemon = try DaemonUnderTest(state: state, dataRoot: dir, localWorkers: 1, log: log)
    let watched = try runCommand("diswot", ["teachers", "watch", id, "--json", "--daemon", daemon.client], timeout: 300)
    XCTAssertEqual(watched.status, 0, watched.stderr)
    XCTAssertEqual(watched.json?["samples"].intValue, 20, watched.stdout)
    XCTAssertEqual(watched.json?["candidates"].arrayValue?.count, 2, watched.stdout)
    XCTAssertTrue(daemon.child.logText.contains("restored teacher ranking \(id): queued"), daemon.child.logText)
  }
}
