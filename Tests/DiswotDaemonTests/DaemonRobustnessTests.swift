import DiswotJSON
import DiswotTensor
import DiswotTestSupport
import DiswotWire
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A thousand malformed requests while a search runs: each gets an error reply (or, over
/// the frame limit, is dropped with its connection), the daemon keeps serving, the search
/// completes. Retried requests (same id) are answered once.
final class DaemonRobustnessTests: XCTestCase {
  /// A valid `search.start` body to spoil.
  static let searchBody: [String: JSONValue] = [
    "scoring": [
      "space": "resnet-cifar-depth", "teacher": ["name": "resnet20"], "data": "gaussian", "batch": 16, "proxies": ["diswot"],
      "seed": 0, "repeats": 1, "initialization": "kaiming-fan-out", "force_class_gram": false,
    ],
    "search": ["strategy": "random", "population": 10, "sample": 3, "budget": 4, "seed": 0, "maxAttempts": 10000],
    "constraints": [:],
  ]
  static let trainBody: [String: JSONValue] = [
    "spec": [
      "student": ["name": "resnet20"], "data": "gaussian", "epochs": 1, "batch": 32, "lr": 0.05, "schedule": "cosine",
      "momentum": 0.9, "weight_decay": 0.0005, "nesterov": false, "distill": "none",
      "weights": ["cross_entropy": 1, "kd": 0, "feature": 0, "temperature": 4], "label_smoothing": 0, "augment": true, "seed": 0,
      "checkpoint_every_steps": 0,
    ]
  ]

  func testMalformedRequestsGetErrorsAndTheDaemonKeepsServing() throws {
    let dir = try scratchDirectory(self)
    let daemon = try DaemonUnderTest(
      state: dir.appendingPathComponent("state"), dataRoot: dir, localWorkers: 1, log: dir.appendingPathComponent("daemon.log"))
    defer { daemon.child.stop() }
    let pirate = try daemon.pirate()
    let started = try runCommand("diswot", [
      "search", "start", "--daemon", daemon.client, "--space", "resnet-cifar-depth", "--teacher", "resnet20", "--batch", "16", "--proxy", "diswot",
      "--repeats", "4", "--strategy", "random", "--budget", "30", "--json",
    ])
    XCTAssertEqual(started.status, 0, started.stderr)
    let searchID = try XCTUnwrap(started.json?["id"].stringValue)

    let context = try ZMQContext()
    let socket = try ZMQSocket(context, .dealer)
    try socket.set([.linger(milliseconds: 0), .sendHighWaterMark(0), .receiveHighWaterMark(0)])
    try socket.connect(daemon.client)
    let tag = Array("DISWOT1".utf8)
    func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
    func body(_ object: [String: JSONValue]) -> [UInt8] { bytes(JSONValue.object(object).compactText) }
    func with(_ base: [String: JSONValue], _ path: [String], _ value: JSONValue) -> [String: JSONValue] {
      var copy = base
      if path.count == 1 {
        copy[path[0]] = value
      } else {
        copy[path[0]] = .object(with(base[path[0]]?.objectValue ?? [:], Array(path.dropFirst()), value))
      }
      return copy
    }
    // Seeded, so a failure replays (issue 11, item 12).
    var rng = SeededGenerator(seed: 0xF022)
    func garbage(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) } }

    // Idempotency: the same request id twice starts one search.
    let retried = [tag, bytes("search.start"), bytes("retry-1"), body(Self.searchBody)]
    try socket.send(frames: retried)
    try socket.send(frames: retried)

    let absurdSearches: [[String: JSONValue]] = [
      with(Self.searchBody, ["search", "budget"], 1_000_000_000),
      with(Self.searchBody, ["scoring", "batch"], 100_000),
      with(Self.searchBody, ["scoring", "teacher"], ["arch": ["depths": [1_000_000_000, 1, 1], "widths": [16, 32, 64]]]),
      with(Self.searchBody, ["scoring", "data"], "cifar10:/etc"),
      with(Self.searchBody, ["scoring", "teacher", "weights"], "/etc/passwd"),
      with(Self.searchBody, ["scoring", "space"], "../../../../etc/passwd"),
      with(Self.searchBody, ["scoring", "classes"], 1_000_000_000),
      with(Self.searchBody, ["scoring", "repeats"], 1_000),
      with(Self.searchBody, ["scoring", "teacher", "name"], "resnet6000000002"),
      with(Self.searchBody, ["scoring", "proxies"], []),
      with(Self.searchBody, ["scoring", "seed"], -1),
      with(Self.searchBody, ["search", "population"], 0),
      with(Self.searchBody, ["constraints", "max_params"], -5),
      with(Self.searchBody, ["scoring", "bogus"], 1),
      with(Self.searchBody, ["extra"], true),
    ]
    let absurdTraining: [[String: JSONValue]] = [
      with(Self.trainBody, ["spec", "epochs"], 1_000_000_000),
      with(Self.trainBody, ["spec", "student"], ["space": "resnet-cifar-depth", "arch": ["depths": [1_000_000_000, 1, 1], "widths": [16, 32, 64]]]),
      with(Self.trainBody, ["spec", "data"], "cifar10:/etc"),
      with(Self.trainBody, ["spec", "batch"], 1_000_000),
      with(with(Self.trainBody, ["spec", "data"], .string("cifar10:\(dir.path)")), ["search_id"], "s-doesnotexist"),
      with(Self.trainBody, ["spec", "student", "wings"], 2),
    ]

    // expected: request id → acceptable error codes (nil: any error; garbage has no id).
    var expected: [String: Set<String>] = [:]
    var anonymous = 0
    let count = 1_000
    for i in 0..<count {
      let id = "m-\(i)"
      var frames: [[UInt8]]
      switch i % 12 {
      case 0:
        frames = (0..<Int.random(in: 1...6, using: &rng)).map { _ in garbage(Int.random(in: 0...48, using: &rng)) }
        if frames.count == 4, frames[0] == tag { frames[0] = [0] }
        anonymous += 1
      case 1:
        frames = [bytes("DISWOT2"), bytes("health"), bytes(id), bytes("{}")]
        expected[id] = ["version_mismatch"]
      case 2:
        frames = [bytes("GET / HTTP/1.1"), bytes("health"), bytes(id), bytes("{}")]
        anonymous += 1  // not a diswot message: error with an empty id
      case 3:
        frames = [tag, bytes("search.status"), bytes(id), bytes(["{not json", "", "\u{FF}\u{FE}", String(repeating: "[", count: 100)][i % 4])]
        expected[id] = ["invalid_json"]
      case 4:
        frames = [tag, bytes("search.status"), bytes(id), bytes(["[1, 2]", "\"id\"", "42", "null"][i % 4])]
        expected[id] = ["bad_request"]
      case 5:
        frames = [tag, bytes("search.start"), bytes(id), body(["scoring": "x", "search": 5])]
        expected[id] = ["invalid_argument"]
      case 6:
        frames = [tag, bytes("search.status"), bytes(id), body(i % 24 == 6 ? ["id": "s-nope"] : ["id": "s-nope", "bogus": 1])]
        expected[id] = i % 24 == 6 ? ["not_found"] : ["invalid_argument"]
      case 7:
        frames = [tag, bytes("search.start"), bytes(id), body(absurdSearches[(i / 12) % absurdSearches.count])]
        expected[id] = ["invalid_argument"]
      case 8:
        frames = [tag, bytes(["search.destroy", "", "SEARCH.START", "\u{0}"][i % 4]), bytes(id), bytes("{}")]
        expected[id] = ["unknown_command"]
      case 9:
        frames = [tag, bytes("health"), bytes(["", "has space", String(repeating: "x", count: 100), "tab\t"][(i / 12) % 4]), bytes("{}")]
        anonymous += 1
      case 10:
        let b = absurdTraining[(i / 12) % absurdTraining.count]
        frames = [tag, bytes("train.start"), bytes(id), body(b)]
        expected[id] = b["search_id"] != nil ? ["not_found", "invalid_argument"] : ["invalid_argument"]
      default:
        frames = [tag, bytes("search.start"), bytes(id), [UInt8](repeating: UInt8(ascii: " "), count: WireProtocol.maxBodyBytes + 1 + i)]
        expected[id] = ["too_large"]
      }
      try socket.send(frames: frames)
    }

    // Collect the replies: 2 for the retried start, one per malformed request.
    var retryIDs: [String] = []
    var received = 0
    var anonymousReplies = 0
    var problems: [String] = []
    let deadline = Date().addingTimeInterval(60)
    while received < count + 2, Date() < deadline {
      guard var frames = try socket.receive(timeoutMilliseconds: 1000) else { continue }
      received += 1
      // Garbage starting with an empty frame looks like a REQ peer's envelope, so its
      // error reply comes back with the delimiter (Docs/protocol.md, section 2).
      if frames.count == 5, frames[0].isEmpty { frames.removeFirst() }
      guard let reply = try? WireMessage.decodeClientReply(frames: frames) else {
        problems.append("undecodable reply \(frames.map(\.count))")
        continue
      }
      if reply.requestID == "retry-1" {
        if case .ok(let value) = reply.body { retryIDs.append(value["id"].stringValue ?? "") } else { problems.append("retry: \(reply.body)") }
        continue
      }
      guard case .error(let error) = reply.body else {
        problems.append("\(reply.requestID) succeeded: \(reply.body)")
        continue
      }
      if reply.requestID.isEmpty {
        anonymousReplies += 1
        continue
      }
      guard let codes = expected.removeValue(forKey: reply.requestID) else {
        problems.append("unexpected reply id \(reply.requestID)")
        continue
      }
      if !codes.contains(error.code.rawValue) { problems.append("\(reply.requestID): \(error.code.rawValue) \(error.message), expected \(codes)") }
    }
    XCTAssertEqual(problems, [])
    XCTAssertEqual(received, count + 2, "every request answered")
    XCTAssertTrue(expected.isEmpty, "unanswered: \(expected.keys.sorted().prefix(10))")
    XCTAssertEqual(anonymousReplies, anonymous)
    XCTAssertEqual(retryIDs.count, 2)
    XCTAssertEqual(Set(retryIDs).count, 1, "a retried search.start starts one search")

    // Frames over ZMQ_MAXMSGSIZE: the connection is dropped without a reply.
    let big = try ZMQSocket(context, .dealer)
    try big.set(.linger(milliseconds: 0))
    try big.connect(daemon.client)
    for i in 0..<3 {
      try big.send(frames: [tag, bytes("health"), bytes("big-\(i)"), [UInt8](repeating: 0x20, count: WireProtocol.maxFrameBytes + 1)])
    }
    XCTAssertNil(try big.receive(timeoutMilliseconds: 1000), "no reply to an oversized frame")

    // Still serving, and the search started before the flood completes.
    XCTAssertEqual(ask(pirate, .health)?["status"], "ok")
    try waitUntil(120, "the search to finish") { ask(pirate, .searchStatus, ["id": .string(searchID)])?["state"] == "finished" }
    XCTAssertEqual(ask(pirate, .searchStatus, ["id": .string(searchID)])?["evaluations"], 30)
    XCTAssertEqual(ask(pirate, .searchList)?["searches"].arrayValue?.count, 2, "the flood started nothing")
    XCTAssertTrue(daemon.child.isRunning)
  }
}
