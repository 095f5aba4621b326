import DiswotJSON
import Foundation
import XCTest

@testable import DiswotWire

/// Real sockets on 127.0.0.1 with ephemeral ports.
final class SocketTests: XCTestCase {
  func testRouterDealerRoundTripWithIdentityEnvelope() throws {
    let context = try ZMQContext()
    let router = try ZMQSocket(context, .router)
    try router.set(.routerMandatory(true))
    try router.bind("tcp://127.0.0.1:*")
    let endpoint = try router.lastEndpoint()
    XCTAssertTrue(endpoint.hasPrefix("tcp://127.0.0.1:"), endpoint)
    XCTAssertFalse(endpoint.hasSuffix(":*"))

    let dealer = try ZMQSocket(context, .dealer)
    try dealer.set(.routingID(bytes("worker-1")))
    try dealer.connect(endpoint)

    let ready = WorkerMessage(WorkerReady(version: "0.1.0", capabilities: ["score"], threads: 2, name: "test"))
    try dealer.send(frames: WireMessage.encode(ready))
    let received = try XCTUnwrap(router.receive(timeoutMilliseconds: 3000))
    XCTAssertEqual(received.count, 4)  // identity + 3 content frames
    let (envelope, content) = try XCTUnwrap(Envelope.split(received))
    XCTAssertEqual(envelope.identity, bytes("worker-1"))
    XCTAssertFalse(envelope.hasDelimiter)
    let message = try WireMessage.decodeWorkerMessage(frames: content)
    XCTAssertEqual(try message.decode(WorkerReady.self), WorkerReady(version: "0.1.0", capabilities: ["score"], threads: 2, name: "test"))

    // Multipart with empty and binary frames survives both ways.
    let task = WorkerMessage(WorkerTask(
      taskID: "t1", searchID: "s1", scoring: ["space": "resnet-cifar-depth"],
      candidates: [TaskCandidate(key: "depths=1,1,1", genotype: ["depths": [1, 1, 1]])]))
    try router.send(frames: envelope.wrap(WireMessage.encode(task)))
    let back = try XCTUnwrap(dealer.receive(timeoutMilliseconds: 3000))
    XCTAssertEqual(try WireMessage.decodeWorkerMessage(frames: back), task)

    let odd: [[UInt8]] = [[], [0, 255, 0], [], Array(repeating: 7, count: 100_000)]
    try dealer.send(frames: odd)
    let oddBack = try XCTUnwrap(router.receive(timeoutMilliseconds: 3000))
    XCTAssertEqual(Array(oddBack.dropFirst()), odd)

    // An unknown identity with ROUTER_MANDATORY is an error, not a silent drop.
    XCTAssertThrowsError(try router.send(frames: [bytes("nobody"), bytes("x")])) { error in
      XCTAssertTrue((error as? ZMQError)?.isUnroutable ?? false, "\(error)")
    }
  }

  func testREQPeerEnvelopeHasEmptyDelimiter() throws {
    let context = try ZMQContext()
    let router = try ZMQSocket(context, .router)
    try router.bind("tcp://127.0.0.1:*")
    let req = try ZMQSocket(context, .req)
    try req.connect(try router.lastEndpoint())

    let request = ClientRequest(command: .health, requestID: "r-1", body: [:])
    try req.send(frames: WireMessage.encode(request))
    let received = try XCTUnwrap(router.receive(timeoutMilliseconds: 3000))
    XCTAssertEqual(received.count, 6)  // identity, delimiter, 4 content frames
    XCTAssertEqual(received[1], [])
    let (envelope, content) = try XCTUnwrap(Envelope.split(received))
    XCTAssertTrue(envelope.hasDelimiter)
    XCTAssertEqual(envelope.identities.count, 1)
    XCTAssertEqual(try WireMessage.decodeClientRequest(frames: content), request)

    let reply = ClientReply(to: request, body: .ok(["status": "ok"]))
    let wrapped = envelope.wrap(WireMessage.encode(reply))
    XCTAssertEqual(wrapped[1], [])
    try router.send(frames: wrapped)
    let back = try XCTUnwrap(req.receive(timeoutMilliseconds: 3000))
    XCTAssertEqual(back.count, 4)  // REQ strips the delimiter
    XCTAssertEqual(try WireMessage.decodeClientReply(frames: back), reply)
  }

  func testMaxMessageSizeDropsTheOffenderAndKeepsServing() throws {
    let context = try ZMQContext()
    let router = try ZMQSocket(context, .router)
    try router.set(.maxMessageSize(bytes: 1024))
    try router.bind("tcp://127.0.0.1:*")
    let endpoint = try router.lastEndpoint()

    let offender = try ZMQSocket(context, .dealer)
    try offender.connect(endpoint)
    try offender.send(frames: [WireProtocol.tagFrame, Array(repeating: 0x41, count: 4096)])
    XCTAssertNil(try router.receive(timeoutMilliseconds: 500), "an oversized frame must not be delivered")

    let polite = try ZMQSocket(context, .dealer)
    try polite.set(.routingID(bytes("polite")))
    try polite.connect(endpoint)
    for i in 0..<2 {
      let request = ClientRequest(command: .version, requestID: "p-\(i)")
      try polite.send(frames: WireMessage.encode(request))
      let received = try XCTUnwrap(router.receive(timeoutMilliseconds: 3000))
      let (envelope, content) = try XCTUnwrap(Envelope.split(received))
      XCTAssertEqual(envelope.identity, bytes("polite"))
      XCTAssertEqual(try WireMessage.decodeClientRequest(frames: content), request)
      try router.send(frames: envelope.wrap(WireMessage.encode(ClientReply(to: request, body: .ok("1")))))
      let reply = try WireMessage.decodeClientReply(frames: XCTUnwrap(polite.receive(timeoutMilliseconds: 3000)))
      XCTAssertEqual(reply.requestID, "p-\(i)")
    }
    // A frame just under the limit still passes.
    try polite.send(frames: [Array(repeating: 0x42, count: 1000)])
    XCTAssertEqual(try XCTUnwrap(router.receive(timeoutMilliseconds: 3000)).last?.count, 1000)
  }

  func testPollerAndTimeouts() throws {
    let context = try ZMQContext()
    let a = try ZMQSocket(context, .pair)
    let b = try ZMQSocket(context, .pair)
    try a.bind("inproc://poller-test")
    try b.connect("inproc://poller-test")
    let poller = ZMQPoller([a, b])
    XCTAssertEqual(try poller.poll(timeoutMilliseconds: 10), [[], []])
    try a.send(frames: [bytes("hi")])
    let ready = try poller.poll(timeoutMilliseconds: 1000)
    XCTAssertEqual(ready[1], .readable)
    XCTAssertEqual(ready[0], [])
    XCTAssertEqual(try b.receive(timeoutMilliseconds: 0), [bytes("hi")])

    try b.set(.receiveTimeout(milliseconds: 20))
    XCTAssertNil(try b.receive())  // blocking receive, bounded by ZMQ_RCVTIMEO

    b.close()
    XCTAssertThrowsError(try b.send(frames: [bytes("x")])) { XCTAssertEqual(($0 as? ZMQError)?.errno, ENOTSOCK) }
    XCTAssertThrowsError(try poller.poll(timeoutMilliseconds: 0))
    XCTAssertThrowsError(try a.send(frames: []))
    XCTAssertThrowsError(try a.bind("nonsense://x")) { error in
      XCTAssertFalse((error as? ZMQError)?.message.isEmpty ?? true)
    }
  }

  func testEventsOverPubSub() throws {
    let context = try ZMQContext()
    let pub = try ZMQSocket(context, .pub)
    try pub.bind("tcp://127.0.0.1:*")
    let sub = try ZMQSocket(context, .sub)
    try sub.set(.subscribe(bytes(EventTopic.allSearches)))
    try sub.connect(try pub.lastEndpoint())

    let event = EventMessage(topic: EventTopic.search("42"), body: ["event": "best", "score": -0.5])
    let other = EventMessage(topic: EventTopic.train("7"), body: ["event": "progress"])
    // A subscription takes effect asynchronously: publish until one arrives (slow joiner).
    var received: [[UInt8]]?
    for _ in 0..<60 where received == nil {
      try pub.send(frames: WireMessage.encode(other))
      try pub.send(frames: WireMessage.encode(event))
      received = try sub.receive(timeoutMilliseconds: 50)
    }
    let frames = try XCTUnwrap(received)
    XCTAssertEqual(try WireMessage.decodeEvent(frames: frames), event)
  }

  func testContextReportsVersionAndCapabilities() throws {
    let version = ZMQContext.version
    XCTAssertGreaterThanOrEqual(version.major * 100 + version.minor, 402)
    XCTAssertEqual(Curve.isAvailable, ZMQContext.has("curve"))
  }
}
