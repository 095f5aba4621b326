import DiswotJSON
import Foundation
import XCTest

@testable import DiswotWire

/// The Lazy Pirate client against real ROUTER servers on 127.0.0.1.
final class LazyPirateTests: XCTestCase {
  /// Serves `requests` requests on a ROUTER bound to `endpoint` in a thread of its own;
  /// `respond` gets each request's index and returns the replies to send (possibly none).
  /// The bound endpoint is posted to `bound`; each decoded request to `seen`.
  private func serve(
    _ context: ZMQContext, endpoint: String = "tcp://127.0.0.1:*", requests: Int,
    bound: Mailbox<String>, seen: Mailbox<ClientRequest>,
    respond: @escaping @Sendable (Int, ClientRequest) -> [ClientReply]
  ) -> Background {
    Background {
      guard let router = try? ZMQSocket(context, .router) else { return }
      // A port just released by another socket may take a moment to be free again.
      var isBound = false
      for _ in 0..<50 where !isBound {
        isBound = (try? router.bind(endpoint)) != nil
        if !isBound { Thread.sleep(forTimeInterval: 0.02) }
      }
      guard isBound, let actual = try? router.lastEndpoint() else { return }
      bound.put(actual)
      for index in 0..<requests {
        guard let frames = try? router.receive(timeoutMilliseconds: 4000),
          let (envelope, content) = Envelope.split(frames),
          let request = try? WireMessage.decodeClientRequest(frames: content)
        else { return }
        seen.put(request)
        for reply in respond(index, request) {
          try? router.send(frames: envelope.wrap(WireMessage.encode(reply)))
        }
      }
    }
  }

  func testRetriesWhenTheFirstRequestIsIgnored() throws {
    let context = try ZMQContext()
    let bound = Mailbox<String>(), seen = Mailbox<ClientRequest>()
    let server = serve(context, requests: 2, bound: bound, seen: seen) { index, request in
      index == 0 ? [] : [ClientReply(to: request, body: .ok(["attempt": .int(index + 1)]))]
    }
    let endpoint = try XCTUnwrap(bound.take())
    let client = try LazyPirateClient(
      configuration: .init(endpoint: endpoint, timeoutMilliseconds: 300, attempts: 3), context: context)
    let value = try client.request(.health, body: ["probe": true])
    XCTAssertEqual(value, ["attempt": 2])
    XCTAssertEqual(client.socketsOpened, 2, "a timeout must replace the socket")
    XCTAssertTrue(server.join())
    let requests = seen.all
    XCTAssertEqual(requests.count, 2)
    XCTAssertEqual(requests[0], requests[1], "a retry resends the same request with the same id")
  }

  func testDaemonRestartIsInvisible() throws {
    let context = try ZMQContext()
    let endpoint = try unusedLoopbackEndpoint(context)
    let seen = Mailbox<ClientRequest>()
    // The first server takes the request and dies without answering.
    let crashed = Mailbox<String>()
    let first = serve(context, endpoint: endpoint, requests: 1, bound: crashed, seen: seen) { _, _ in [] }
    XCTAssertNotNil(crashed.take())
    let client = try LazyPirateClient(
      configuration: .init(endpoint: endpoint, timeoutMilliseconds: 400, attempts: 5), context: context)
    let restarted = Mailbox<String>()
    let done = Mailbox<Result<JSONValue, ClientError>>()
    let handOver = HandOver(client)  // used by the caller thread only, until it is joined
    let caller = Background {
      done.put(Result { () throws(ClientError) -> JSONValue in try handOver.value.request(.version) })
    }
    XCTAssertTrue(first.join())
    _ = seen.take()
    // A new daemon on the same endpoint answers the retry.
    let second = serve(context, endpoint: endpoint, requests: 1, bound: restarted, seen: seen) { _, request in
      [ClientReply(to: request, body: .ok("restarted"))]
    }
    XCTAssertNotNil(restarted.take())
    XCTAssertTrue(caller.join())
    XCTAssertTrue(second.join())
    XCTAssertEqual(try done.take(seconds: 0)?.get(), "restarted")
  }

  func testStaleAndMalformedRepliesAreDiscarded() throws {
    let context = try ZMQContext()
    let bound = Mailbox<String>(), seen = Mailbox<ClientRequest>()
    let server = serve(context, requests: 1, bound: bound, seen: seen) { _, request in
      [
        ClientReply(command: request.command.rawValue, requestID: "stale-id", body: .ok("old")),
        ClientReply(command: "garbage", requestID: request.requestID, body: .ok("fine")),
      ]
    }
    let endpoint = try XCTUnwrap(bound.take())
    let client = try LazyPirateClient(
      configuration: .init(endpoint: endpoint, timeoutMilliseconds: 2000, attempts: 1), context: context)
    XCTAssertEqual(try client.request(.searchList), "fine")
    XCTAssertEqual(client.socketsOpened, 1)
    XCTAssertTrue(server.join())
  }

  func testErrorRepliesAreThrownWithTheirCode() throws {
    let context = try ZMQContext()
    let bound = Mailbox<String>(), seen = Mailbox<ClientRequest>()
    let server = serve(context, requests: 1, bound: bound, seen: seen) { _, request in
      [ClientReply(to: request, body: .error(WireError(.notFound, "no search 'x'")))]
    }
    let client = try LazyPirateClient(
      configuration: .init(endpoint: try XCTUnwrap(bound.take()), timeoutMilliseconds: 2000, attempts: 1), context: context)
    XCTAssertThrowsError(try client.request(.searchStatus, body: ["id": "x"])) { error in
      XCTAssertEqual(error as? ClientError, .server(WireError(.notFound, "no search 'x'")))
      XCTAssertEqual((error as? ClientError)?.code, .notFound)
    }
    XCTAssertTrue(server.join())
    // A body over the limit is refused before sending.
    let big = JSONValue.string(String(repeating: "x", count: WireProtocol.maxBodyBytes))
    XCTAssertThrowsError(try client.request(.searchStart, body: ["x": big])) { error in
      guard case .invalidRequest = error as? ClientError else { return XCTFail("\(error)") }
    }
  }

  func testNoServerIsUnavailableAfterTheAttempts() throws {
    let context = try ZMQContext()
    let endpoint = try unusedLoopbackEndpoint(context)
    let client = try LazyPirateClient(
      configuration: .init(endpoint: endpoint, timeoutMilliseconds: 200, attempts: 3), context: context)
    let start = Date()
    XCTAssertThrowsError(try client.request(.health)) { error in
      guard case .unavailable = error as? ClientError else { return XCTFail("\(error)") }
      XCTAssertEqual((error as? ClientError)?.code, .unavailable)
    }
    let elapsed = Date().timeIntervalSince(start)
    XCTAssertGreaterThanOrEqual(elapsed, 0.58)
    XCTAssertLessThan(elapsed, 1.5)
    XCTAssertEqual(client.socketsOpened, 3)
  }
}
