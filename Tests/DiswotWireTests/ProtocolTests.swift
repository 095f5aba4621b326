import DiswotJSON
import Foundation
import XCTest

@testable import DiswotWire

final class ProtocolTests: XCTestCase {
  let tag = WireProtocol.tagFrame

  func requestError(_ frames: [[UInt8]]) -> ProtocolError? {
    do {
      _ = try WireMessage.decodeClientRequest(frames: frames)
      return nil
    } catch {
      return error
    }
  }

  func testRequestRoundTrip() throws {
    for command in ClientCommand.allCases {
      let request = ClientRequest(command: command, body: ["id": "abc", "n": 3, "x": 0.25, "nested": ["a": [1, 2, nil]]])
      XCTAssertEqual(try WireMessage.decodeClientRequest(frames: WireMessage.encode(request)), request)
    }
    let reply = ClientReply(command: "search.start", requestID: "r", body: .ok(["id": "s1"]))
    XCTAssertEqual(try WireMessage.decodeClientReply(frames: WireMessage.encode(reply)), reply)
    let error = ClientReply(command: "", requestID: "", body: .error(WireError(.badRequest, "no")))
    XCTAssertEqual(try WireMessage.decodeClientReply(frames: WireMessage.encode(error)), error)
  }

  func testEachRequestErrorHasItsCode() {
    let body = bytes("{}")
    XCTAssertEqual(requestError([])?.code, .badRequest)
    XCTAssertEqual(requestError([tag, bytes("health"), bytes("r")])?.code, .badRequest)
    XCTAssertEqual(requestError([tag, bytes("health"), bytes("r"), body, body])?.code, .badRequest)
    XCTAssertEqual(requestError([bytes("HTTP/1.1"), bytes("health"), bytes("r"), body])?.code, .badRequest)
    XCTAssertEqual(requestError([tag, bytes("health"), bytes(""), body])?.code, .badRequest)
    XCTAssertEqual(requestError([tag, bytes("health"), bytes("has space"), body])?.code, .badRequest)
    XCTAssertEqual(requestError([tag, bytes("health"), Array(repeating: 0x61, count: 65), body])?.code, .badRequest)

    let mismatch = requestError([bytes("DISWOT2"), bytes("health"), bytes("r-9"), body])
    XCTAssertEqual(mismatch?.code, .versionMismatch)
    XCTAssertEqual(mismatch?.requestID, "r-9")  // so the error reply can be matched

    let unknown = requestError([tag, bytes("search.explode"), bytes("r-1"), body])
    XCTAssertEqual(unknown?.code, .unknownCommand)
    XCTAssertEqual(unknown?.requestID, "r-1")
    XCTAssertEqual(unknown?.command, "search.explode")
    XCTAssertEqual(requestError([tag, [0xC3], bytes("r"), body])?.code, .unknownCommand)  // truncated UTF-8
    XCTAssertEqual(requestError([tag, bytes("READY"), bytes("r"), body])?.code, .unknownCommand)

    XCTAssertEqual(requestError([tag, bytes("health"), bytes("r"), []])?.code, .invalidJSON)
    XCTAssertEqual(requestError([tag, bytes("health"), bytes("r"), bytes("{\"a\":")])?.code, .invalidJSON)
    XCTAssertEqual(requestError([tag, bytes("health"), bytes("r"), [0x7B, 0x22, 0xC3, 0x22, 0x3A, 0x31, 0x7D]])?.code, .invalidJSON)
    let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
    XCTAssertEqual(requestError([tag, bytes("health"), bytes("r"), bytes("{\"a\":\(deep)}")])?.code, .invalidJSON)
    let okDeep = String(repeating: "[", count: 63) + String(repeating: "]", count: 63)
    XCTAssertNil(requestError([tag, bytes("health"), bytes("r"), bytes("{\"a\":\(okDeep)}")]))

    XCTAssertEqual(requestError([tag, bytes("health"), bytes("r"), bytes("[1]")])?.code, .badRequest)
    XCTAssertEqual(requestError([tag, bytes("health"), bytes("r"), bytes("null")])?.code, .badRequest)
    XCTAssertEqual(requestError([tag, bytes("health"), bytes("r"), bytes("\"x\"")])?.code, .badRequest)

    let huge = bytes("{\"a\":\"") + Array(repeating: 0x61, count: WireProtocol.maxBodyBytes) + bytes("\"}")
    let tooLarge = requestError([tag, bytes("health"), bytes("r-2"), huge])
    XCTAssertEqual(tooLarge?.code, .tooLarge)
    XCTAssertEqual(tooLarge?.reply.requestID, "r-2")
    XCTAssertEqual(tooLarge?.reply.body, .error(WireError(.tooLarge, tooLarge?.message ?? "")))
  }

  func testReplyBodies() throws {
    func reply(_ body: String, id: String = "r") throws -> ClientReply {
      try WireMessage.decodeClientReply(frames: [tag, bytes("health"), bytes(id), bytes(body)])
    }
    XCTAssertEqual(try reply(#"{"ok": 1}"#).body, .ok(1))
    XCTAssertEqual(try reply(#"{"ok": null}"#).body, .ok(nil))
    XCTAssertEqual(try reply(#"{"error": {"code": "not_found", "message": "no such search"}}"#).body, .error(WireError(.notFound, "no such search")))
    // An unknown code (a newer daemon) is kept readable.
    XCTAssertEqual(try reply(#"{"error": {"code": "quota", "message": "m"}}"#).body, .error(WireError(.internal, "(quota) m")))
    XCTAssertThrowsError(try reply(#"{"ok": 1, "error": {}}"#))
    XCTAssertThrowsError(try reply(#"{}"#))
    XCTAssertThrowsError(try reply(#"{"error": "x"}"#))
    XCTAssertThrowsError(try reply(#"{"ok": 1}"#, id: ""))  // a success must name its request
  }

  func testWorkerPayloadsRoundTrip() throws {
    let payloads: [any WorkerPayload] = [
      WorkerReady(version: "0.1.0", capabilities: ["score", "train"], threads: 4),
      WorkerHeartbeat(),
      WorkerTask(
        taskID: "t-1", searchID: "s-1",
        scoring: ["space": "resnet-cifar-depth", "teacher": ["name": "resnet56"], "proxies": ["diswot"], "seed": 0],
        candidates: [
          TaskCandidate(key: "depths=1,3,5", genotype: ["depths": [1, 3, 5], "widths": [16, 32, 64]]),
          TaskCandidate(key: "|nor_conv_3x3~0|", genotype: ["cell": "|nor_conv_3x3~0|"]),
        ]),
      TaskResult(taskID: "t-1", results: [
        CandidateResult(key: "a", scores: ["diswot": -1.5, "nwot": .nan], params: 10, macs: 20, seconds: 0.25),
        CandidateResult(key: "b", scores: [:], seconds: 0.01, error: WireError(.invalidArgument, "cannot build")),
      ]),
      TaskResult(taskID: "t-2", results: [], error: WireError(.invalidArgument, "the worker cannot read this TASK")),
      TaskProgress(taskID: "t-1", stage: "calibration", done: 3, total: 64),
      TrainJob(jobID: "j-1", spec: ["epochs": 200]),
      JobProgress(jobID: "j-1", progress: ["epoch": 3, "loss": 1.25]),
      JobDone(jobID: "j-1", outcome: .success(["accuracy": 0.93])),
      JobDone(jobID: "j-1", outcome: .failure(WireError(.internal, "diverged"))),
      WorkerDisconnect(reason: "shutting down"),
      WorkerDisconnect(),
    ]
    for payload in payloads {
      let frames = WireMessage.encode(WorkerMessage(payload))
      let message = try WireMessage.decodeWorkerMessage(frames: frames)
      XCTAssertEqual(message.command, type(of: payload).command)
      func check<P: WorkerPayload & Equatable>(_ p: P) throws {
        XCTAssertEqual(try message.decode(P.self), p)
      }
      switch payload {
      case let p as WorkerReady: try check(p)
      case let p as WorkerHeartbeat: try check(p)
      case let p as WorkerTask: try check(p)
      case let p as TaskResult: try check(p)
      case let p as TaskProgress: try check(p)
      case let p as TrainJob: try check(p)
      case let p as JobProgress: try check(p)
      case let p as JobDone: try check(p)
      case let p as WorkerDisconnect: try check(p)
      default: XCTFail("unexpected payload \(payload)")
      }
    }
    // PROGRESS carries a task's or a job's progress; each reader takes only its own.
    let taskProgress = WorkerMessage(TaskProgress(taskID: "t-1", stage: "scoring", done: 1, total: 4))
    XCTAssertThrowsError(try taskProgress.decode(JobProgress.self))
    XCTAssertThrowsError(try WorkerMessage(JobProgress(jobID: "j-1", progress: [:])).decode(TaskProgress.self))
    // A NaN score travels as null (JSON has no NaN) and comes back as NaN.
    let result = WireMessage.encode(WorkerMessage(TaskResult(taskID: "t", results: [CandidateResult(key: "k", scores: ["z": .infinity], seconds: 1)])))
    XCTAssertTrue(String(decoding: result[2], as: UTF8.self).contains(#""z":null"#))
  }

  func testWorkerPayloadFieldErrors() throws {
    func taskError(_ body: [String: JSONValue]) -> ProtocolError? {
      do {
        _ = try WorkerMessage(command: .task, body: body).decode(WorkerTask.self)
        return nil
      } catch { return error }
    }
    let candidate: JSONValue = ["key": "k", "genotype": ["depths": [1]]]
    XCTAssertNil(taskError(["task_id": "t", "search_id": "s", "scoring": [:], "candidates": [candidate]]))
    XCTAssertEqual(taskError(["search_id": "s", "scoring": [:], "candidates": [candidate]])?.code, .invalidArgument)
    XCTAssertEqual(taskError(["task_id": 3, "search_id": "s", "scoring": [:], "candidates": [candidate]])?.code, .invalidArgument)
    XCTAssertEqual(taskError(["task_id": "t", "search_id": "s", "scoring": [:], "candidates": []])?.code, .invalidArgument)
    XCTAssertEqual(taskError(["task_id": "t", "search_id": "s", "scoring": [:], "candidates": ["k"]])?.code, .invalidArgument)
    XCTAssertEqual(taskError(["task_id": "t", "search_id": "s", "scoring": [:], "candidates": [["key": "k", "genotype": 1]]])?.code, .invalidArgument)
    XCTAssertTrue(taskError(["task_id": "t", "search_id": "s", "scoring": [:], "candidates": [["genotype": [:]]]])?.message.contains("candidates[0]") ?? false)
    // Unknown fields are ignored (forward compatibility within DISWOT1).
    XCTAssertNil(taskError(["task_id": "t", "search_id": "s", "scoring": [:], "candidates": [candidate], "priority": 5]))

    XCTAssertThrowsError(try WorkerMessage(command: .ready, body: ["version": "1", "capabilities": [], "threads": 0]).decode(WorkerReady.self))
    XCTAssertThrowsError(try WorkerMessage.heartbeat.decode(WorkerReady.self)) { error in
      XCTAssertEqual((error as? ProtocolError)?.code, .badRequest)
    }
    XCTAssertThrowsError(try WireMessage.decodeWorkerMessage(frames: [tag, bytes("HELLO"), bytes("{}")])) { error in
      XCTAssertEqual((error as? ProtocolError)?.code, .unknownCommand)
    }
  }

  func testEnvelopeSplitting() {
    XCTAssertNil(Envelope.split([]))
    XCTAssertNil(Envelope.split([[]]))
    let dealer = Envelope.split([[1], tag, bytes("x")])
    XCTAssertEqual(dealer?.envelope, Envelope(identity: [1]))
    XCTAssertEqual(dealer?.content, [tag, bytes("x")])
    let req = Envelope.split([[1], [], tag])
    XCTAssertEqual(req?.envelope.hasDelimiter, true)
    XCTAssertEqual(req?.content, [tag])
    XCTAssertEqual(req?.envelope.wrap([bytes("r")]), [[1], [], bytes("r")])
    let twoHops = Envelope.split([[1], [2], [], tag], hops: 2)
    XCTAssertEqual(twoHops?.envelope.identities, [[1], [2]])
    XCTAssertEqual(twoHops?.content, [tag])
    XCTAssertEqual(Envelope.split([[1]])?.content, [])
  }

  // MARK: - Fuzz

  /// 2,000 seeded random frame lists through every decoder: each decodes or throws a
  /// ProtocolError with a code; whatever decodes re-encodes to something that decodes equal.
  func testDecodersNeverCrashOnRandomFrames() throws {
    var rng = SplitMix64(seed: 0xD15_0007)
    var codes: [ErrorCode: Int] = [:]
    var decoded = 0
    for _ in 0..<2_000 {
      let frames = randomFrames(&rng)
      do {
        let request = try WireMessage.decodeClientRequest(frames: frames)
        decoded += 1
        XCTAssertEqual(try WireMessage.decodeClientRequest(frames: WireMessage.encode(request)), request)
      } catch {
        codes[error.code, default: 0] += 1
        XCTAssertFalse(error.message.isEmpty)
        if let id = error.requestID { XCTAssertTrue(WireProtocol.isValidRequestID(Array(id.utf8))) }
        // The error reply itself must be a well-formed reply.
        let reply = error.reply
        XCTAssertEqual(try WireMessage.decodeClientReply(frames: WireMessage.encode(reply)), reply)
      }
      if let reply = try? WireMessage.decodeClientReply(frames: frames) {
        XCTAssertEqual(try WireMessage.decodeClientReply(frames: WireMessage.encode(reply)), reply)
      }
      // The same frames without the request id, as a worker message.
      let workerFrames = frames.count == 4 ? [frames[0], frames[1], frames[3]] : frames
      if let message = try? WireMessage.decodeWorkerMessage(frames: workerFrames) {
        XCTAssertEqual(try WireMessage.decodeWorkerMessage(frames: WireMessage.encode(message)), message)
        for payload in [WorkerReady.self, WorkerTask.self, TaskResult.self, JobDone.self] as [any WorkerPayload.Type] {
          _ = try? payload.init(body: message.body)
        }
      }
      if let event = try? WireMessage.decodeEvent(frames: frames) {
        XCTAssertEqual(try WireMessage.decodeEvent(frames: WireMessage.encode(event)), event)
      }
      if let (envelope, content) = Envelope.split(frames) {
        XCTAssertEqual(envelope.wrap(content), frames)
      }
    }
    XCTAssertGreaterThan(decoded, 50, "the generator should produce valid requests too")
    for code in [ErrorCode.badRequest, .unknownCommand, .invalidJSON, .tooLarge, .versionMismatch] {
      XCTAssertGreaterThan(codes[code, default: 0], 0, "no case produced \(code)")
    }
  }

  private func randomBytes(_ rng: inout SplitMix64, max: Int) -> [UInt8] {
    (0..<Int.random(in: 0...max, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
  }

  private func pick<T>(_ items: [T], _ rng: inout SplitMix64) -> T { items[Int.random(in: 0..<items.count, using: &rng)] }

  private func randomFrames(_ rng: inout SplitMix64) -> [[UInt8]] {
    if Int.random(in: 0..<10, using: &rng) == 0 {
      return (0..<Int.random(in: 0...6, using: &rng)).map { _ in randomBytes(&rng, max: 40) }
    }
    let tag: [UInt8] = Int.random(in: 0..<10, using: &rng) < 7
      ? tag : pick([bytes("DISWOT2"), bytes("DISWOT"), [], bytes("ZMQ"), bytes("DISWOT1\0"), [0xFF, 0xFE]], &rng)
    let command: [UInt8]
    switch Int.random(in: 0..<10, using: &rng) {
    case 0...6: command = bytes(pick(ClientCommand.allCases, &rng).rawValue)
    case 7: command = bytes(pick(WorkerCommand.allCases, &rng).rawValue)
    default: command = pick([[], [0xC3], [0xFF], bytes("search.start\n"), bytes("é"), randomBytes(&rng, max: 80)], &rng)
    }
    let requestID: [UInt8] = Int.random(in: 0..<8, using: &rng) > 0
      ? bytes(WireProtocol.newRequestID())
      : pick([[], bytes("a b"), Array(repeating: 0x61, count: 65), [0x80], randomBytes(&rng, max: 70)], &rng)
    let body: [UInt8]
    switch Int.random(in: 0..<12, using: &rng) {
    case 0...4: body = bytes(JSONValue.object(randomObject(&rng, depth: 3)).compactText)
    case 5:
      let text = bytes(JSONValue.object(randomObject(&rng, depth: 3)).compactText)
      body = Array(text.prefix(Int.random(in: 0...text.count, using: &rng)))  // truncated
    case 6: body = pick([bytes("[1,2]"), bytes("\"s\""), bytes("null"), bytes("1e999"), bytes("{}"), bytes("{\"a\":NaN}"), bytes("{\"a\":1,\"a\":2}")], &rng)
    case 7: body = bytes("{\"s\":\"") + pick([[0xC3], [0xE2, 0x82], [0xFF], [0xED, 0xA0, 0x80]], &rng) + bytes("\"}")  // bad UTF-8
    case 8:
      let depth = pick([10, 63, 64, 65, 100, 600, 5000], &rng)
      body = bytes("{\"a\":" + String(repeating: pick(["[", "{\"k\":"], &rng), count: depth))  // deep, often unbalanced
    case 9:
      let depth = pick([64, 65, 700], &rng)
      body = bytes("{\"a\":" + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}")
    case 10:
      body = Bool.random(using: &rng)
        ? bytes("{\"a\":\"") + Array(repeating: 0x61, count: WireProtocol.maxBodyBytes + Int.random(in: -8...64, using: &rng)) + bytes("\"}")
        : randomBytes(&rng, max: 64)
    default: body = randomBytes(&rng, max: 200)
    }
    var frames = [tag, command, requestID, body]
    switch Int.random(in: 0..<10, using: &rng) {
    case 0: frames.removeLast()
    case 1: frames.append(randomBytes(&rng, max: 10))
    case 2: frames.insert([UInt8](), at: 0)
    default: break
    }
    return frames
  }

  private func randomValue(_ rng: inout SplitMix64, depth: Int) -> JSONValue {
    switch Int.random(in: 0..<(depth > 0 ? 9 : 7), using: &rng) {
    case 0: return .null
    case 1: return .bool(Bool.random(using: &rng))
    case 2: return .int(Int.random(in: Int.min...Int.max, using: &rng))
    case 3: return .double(Double.random(in: -1e6...1e6, using: &rng))
    case 4: return .string(pick(["", "plain", "quote \" and \\ backslash", "tab\tnew\nline", "ünïcødé 🚀", "\u{0}"], &rng))
    case 5: return .int(Int.random(in: -5...5, using: &rng))
    case 6: return .double(pick([0.1, -0.0, 1e300, Double.leastNonzeroMagnitude], &rng))
    case 7: return .array((0..<Int.random(in: 0...4, using: &rng)).map { _ in randomValue(&rng, depth: depth - 1) })
    default: return .object(randomObject(&rng, depth: depth - 1))
    }
  }

  private func randomObject(_ rng: inout SplitMix64, depth: Int) -> [String: JSONValue] {
    var object: [String: JSONValue] = [:]
    for _ in 0..<Int.random(in: 0...4, using: &rng) {
      object[pick(["id", "space", "budget", "é", "", "k\"q", "task_id", "candidates"], &rng)] = randomValue(&rng, depth: depth)
    }
    return object
  }
}
