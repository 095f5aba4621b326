import DiswotJSON
import DiswotTestSupport
import DiswotWire
import Foundation
import XCTest

/// Requests are checked when they arrive (issue 11, item 8), against a real daemon: bodies
/// are RFC 8259 JSON, seeds take the whole 0 … 2⁶⁴ − 1 range the protocol documents, and a
/// training spec is checked as a whole by the same `TrainingSpec.validate()` `diswot train`
/// runs, so a job that cannot run is refused instead of failing later on a worker.
final class RequestCheckTests: XCTestCase {
  /// A valid `train.start` spec (data to be filled in).
  static let trainSpec: [String: JSONValue] = [
    "student": ["name": "resnet20"], "data": "gaussian", "epochs": 1, "batch": 8, "lr": 0.05, "schedule": "cosine",
    "momentum": 0.9, "weight_decay": 0.0005, "nesterov": false, "distill": "none",
    "weights": ["crossEntropy": 1, "kd": 0, "feature": 0, "temperature": 4], "label_smoothing": 0, "augment": true, "seed": 0,
    "checkpoint_every_steps": 0,
  ]

  func testBodiesMustBeRFC8259JSON() throws {
    let dir = try scratchDirectory(self)
    let daemon = try DaemonUnderTest(state: dir.appendingPathComponent("state"), dataRoot: dir, log: dir.appendingPathComponent("daemon.log"))
    defer { daemon.child.stop() }
    for (body, reason) in [
      (#"{"limit":5,}"#, "trailing comma before '}' at byte 11"), (#"{"limit":05}"#, "leading zero"),
      (#"{"limit":5}x"#, "after the value"), (#"{"limit":5,"limit":6}"#, "member name 'limit' repeated"),
      ("{\"limit\":NaN}", "expected a value"),
    ] {
      let reply = try rawRequest(daemon.client, "search.list", body: Array(body.utf8))
      guard case .error(let error) = reply.body else { XCTFail("\(body) accepted: \(reply.body)"); continue }
      XCTAssertEqual(error.code, .invalidJSON, body)
      XCTAssertTrue(error.message.contains(reason), "\(body): \(error.message)")
    }
    let reply = try rawRequest(daemon.client, "search.list", body: Array(#" { "limit" : 5 } "#.utf8))
    guard case .ok(let value) = reply.body else { return XCTFail("\(reply.body)") }
    XCTAssertEqual(value["searches"], [])
  }

  func testSeedsNear2To64AreAcceptedAndKeptExactly() throws {
    let dir = try scratchDirectory(self)
    try writeCIFARFixture(to: dir.appendingPathComponent("cifar"), train: 20, test: 10)
    let daemon = try DaemonUnderTest(
      state: dir.appendingPathComponent("state"), dataRoot: dir, localWorkers: 1, log: dir.appendingPathComponent("daemon.log"))
    defer { daemon.child.stop() }
    let pirate = try daemon.pirate()
    var body = DaemonRobustnessTests.searchBody
    body["scoring"] = .object((body["scoring"]?.objectValue ?? [:]).merging(["seed": .uint(.max)]) { _, b in b })
    body["search"] = .object((body["search"]?.objectValue ?? [:]).merging(["seed": .uint(.max - 1), "budget": 2]) { _, b in b })
    let id = try XCTUnwrap(try pirate.request(.searchStart, body: body)["id"].stringValue)
    try waitUntil(120, "the search to finish") { ask(pirate, .searchStatus, ["id": .string(id)])?["state"] == "finished" }
    XCTAssertEqual(ask(pirate, .searchStatus, ["id": .string(id)])?["evaluations"], 2)
    let store = try daemon.store()
    defer { store.close() }
    let document = try XCTUnwrap(JSONValue.parse(try XCTUnwrap(try store.search(id: id)).specJSON))
    XCTAssertEqual(document["scoring"]["seed"], .uint(18_446_744_073_709_551_615))
    XCTAssertEqual(document["search"]["seed"], .uint(18_446_744_073_709_551_614))

    let spec = Self.trainSpec.merging(["seed": .uint(.max), "data": .string("cifar10:\(dir.path)/cifar")]) { _, b in b }
    let job = try XCTUnwrap(try pirate.request(.trainStart, body: ["spec": .object(spec)])["id"].stringValue)
    XCTAssertEqual(try pirate.request(.trainCancel, body: ["id": .string(job)])["state"], "cancelled")
  }

  func testATrainingSpecIsCheckedWholeOnArrivalAsDiswotTrainChecksIt() throws {
    let dir = try scratchDirectory(self)
    try writeCIFARFixture(to: dir.appendingPathComponent("cifar"), train: 20, test: 10)
    let daemon = try DaemonUnderTest(state: dir.appendingPathComponent("state"), dataRoot: dir, log: dir.appendingPathComponent("daemon.log"))
    defer { daemon.child.stop() }
    let pirate = try daemon.pirate()
    let cases: [(field: String, value: JSONValue, message: String, option: [String])] = [
      ("schedule", "no-such-schedule", "schedule: invalid learning-rate schedule 'no-such-schedule'", ["--schedule", "no-such-schedule"]),
      ("schedule", "multistep:5,2", "schedule: invalid learning-rate schedule 'multistep:5,2'", ["--schedule", "multistep:5,2"]),
      ("nesterov", true, "Nesterov momentum requires momentum > 0", ["--nesterov", "--momentum", "0"]),
      ("momentum", 2, "momentum must be between 0.0 and 1.0, got 2.0", []),
      ("label_smoothing", 1, "label_smoothing must be between 0.0 and 0.999, got 1.0", []),
      ("data", "gaussian", "training needs a labelled dataset", []),
    ]
    for c in cases {
      var spec = Self.trainSpec
      spec["data"] = .string("cifar10:\(dir.path)/cifar")
      spec[c.field] = c.value
      if c.field == "nesterov" { spec["momentum"] = 0 }
      guard case .error(let error) = try pirate.call(.trainStart, body: ["spec": .object(spec)]) else {
        XCTFail("\(c.field) \(c.value) accepted")
        continue
      }
      XCTAssertEqual(error.code, .invalidArgument, c.field)
      XCTAssertTrue(error.message.contains(c.message), "\(c.field): \(error.message)")
      // The local path refuses it with the same words, before reading any data.
      guard !c.option.isEmpty else { continue }
      let local = try runCommand("diswot", [
        "train", "--student", "resnet20", "--data", "cifar10:/nonexistent", "--epochs", "1", "--out", dir.appendingPathComponent("run-\(c.field)").path,
      ] + c.option)
      XCTAssertEqual(local.status, 2, "a bad value is a usage error: \(local.stderr)")
      XCTAssertTrue(local.stderr.contains(c.message), "\(c.field): \(local.stderr)")
    }
    XCTAssertEqual(ask(pirate, .health)?["jobs"], 0, "nothing was queued")
  }
}
