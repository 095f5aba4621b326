import DiswotJSON
import Foundation
import XCTest

@testable import DiswotWire

final class CurveTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-wire-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: directory)
  }

  private func requireCurve() throws {
    guard Curve.isAvailable else { throw XCTSkip("libzmq was built without CURVE") }
  }

  func testZ85MatchesRFC32() {
    let bytes: [UInt8] = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]
    XCTAssertEqual(Curve.z85Encode(bytes), "HelloWorld")
    XCTAssertEqual(Curve.z85Decode("HelloWorld"), bytes)
    XCTAssertNil(Curve.z85Encode([1, 2, 3]))
    XCTAssertNil(Curve.z85Decode("Hello Worl"))  // space is not in the alphabet
    XCTAssertNil(Curve.z85Decode("Hell"))
    XCTAssertNil(Curve.z85Decode("#####"))  // 85^5 - 1 does not fit in 32 bits
    var rng = SplitMix64(seed: 5)
    for _ in 0..<100 {
      let data = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
      XCTAssertEqual(Curve.z85Decode(Curve.z85Encode(data)!), data)
    }
  }

  func testKeyPairFilesRoundTripWithPrivateSecretFile() throws {
    try requireCurve()
    let pair = try CurveKeyPair.generate()
    XCTAssertEqual(pair.publicKey.utf8.count, 40)
    XCTAssertEqual(pair.secretKey.utf8.count, 40)
    XCTAssertTrue(Curve.isValidKey(pair.publicKey))
    XCTAssertEqual(try CurveKeyPair.publicKey(forSecretKey: pair.secretKey), pair.publicKey)

    try pair.write(to: directory, name: "alice")
    let secretPath = CurveKeyPair.secretFile(in: directory, name: "alice").path
    let publicPath = CurveKeyPair.publicFile(in: directory, name: "alice").path
    XCTAssertTrue(secretPath.hasSuffix("alice.key_secret"))
    XCTAssertTrue(publicPath.hasSuffix("alice.key"))
    let mode = { (path: String) in (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue }
    XCTAssertEqual(try mode(secretPath), 0o600)
    XCTAssertEqual(try mode(publicPath), 0o644)
    XCTAssertFalse(try String(contentsOfFile: publicPath, encoding: .utf8).contains(pair.secretKey))

    XCTAssertEqual(try CurveKeyPair.read(from: directory, name: "alice"), pair)
    XCTAssertEqual(try CurveKeyPair.readPublicKey(from: directory, name: "alice"), pair.publicKey)
    // Rewriting replaces the files.
    let other = try CurveKeyPair.generate()
    try other.write(to: directory, name: "alice")
    XCTAssertEqual(try CurveKeyPair.read(from: directory, name: "alice"), other)

    XCTAssertThrowsError(try pair.write(to: directory, name: "../escape"))
    XCTAssertThrowsError(try CurveKeyPair.read(from: directory, name: "nobody"))
    XCTAssertThrowsError(try CurveKeyPair(publicKey: pair.publicKey, secretKey: other.secretKey))
  }

  func testReadsCertificatesWrittenByCZMQ() throws {
    try requireCurve()
    let pair = try CurveKeyPair.generate()
    let text = """
      #   ****  Generated on 2023-02-17 21:05:10 by CZMQ  ****
      #   ZeroMQ CURVE **Secret** Certificate
      #   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.

      metadata
          name = "worker-7"
          hostname = "node"
      curve
          public-key = "\(pair.publicKey)"
          secret-key = "\(pair.secretKey)"

      """
    let url = directory.appendingPathComponent("czmq.key_secret")
    try text.write(to: url, atomically: true, encoding: .utf8)
    XCTAssertEqual(try CurveKeyPair.read(secretFile: url), pair)
    XCTAssertEqual(try CurveKeyPair.readPublicKey(file: url), pair.publicKey)
    try "curve\n    public-key = \"short\"\n".write(to: directory.appendingPathComponent("bad.key"), atomically: true, encoding: .utf8)
    XCTAssertThrowsError(try ZAPHandler.loadAllowList(directory: directory))
  }

  func testZAPAnswersEveryRequestPerRFC27() throws {
    try requireCurve()
    let pair = try CurveKeyPair.generate()
    let key = try XCTUnwrap(Curve.z85Decode(pair.publicKey))
    let allow = [pair.publicKey: "alice"]
    func request(_ mechanism: String, _ credentials: [[UInt8]], domain: String = "diswot") -> [[UInt8]] {
      [bytes("1.0"), bytes("7"), bytes(domain), bytes("127.0.0.1"), [], bytes(mechanism)] + credentials
    }
    let ok = ZAPHandler.answer(request("CURVE", [key]), allowList: allow, domain: "diswot")
    XCTAssertEqual(ok.reply, [bytes("1.0"), bytes("7"), bytes("200"), bytes("OK"), bytes("alice"), []])
    XCTAssertEqual(ok.decision?.userID, "alice")

    let unknown = ZAPHandler.answer(request("CURVE", [Array(repeating: 1, count: 32)]), allowList: allow, domain: "diswot")
    XCTAssertEqual(unknown.reply[2], bytes("400"))
    XCTAssertEqual(unknown.reply[4], [])
    XCTAssertNil(unknown.decision?.userID)
    XCTAssertEqual(ZAPHandler.answer(request("NULL", []), allowList: allow, domain: nil).reply[2], bytes("400"))
    XCTAssertEqual(ZAPHandler.answer(request("CURVE", [key], domain: "other"), allowList: allow, domain: "diswot").reply[2], bytes("400"))
    XCTAssertEqual(ZAPHandler.answer(request("CURVE", [[1, 2]]), allowList: allow, domain: nil).reply[2], bytes("400"))
    for malformed in [[], [bytes("2.0"), bytes("9")], [bytes("1.0")]] as [[[UInt8]]] {
      let answer = ZAPHandler.answer(malformed, allowList: allow, domain: nil)
      XCTAssertEqual(answer.reply.count, 6)
      XCTAssertEqual(answer.reply[2], bytes("400"))
      XCTAssertEqual(answer.reply[1], malformed.count > 1 ? malformed[1] : [])
    }
  }

  /// A CURVE server with a ZAP allow-list: an allowed client is served (and identified), a
  /// client with another key is refused at the handshake and gets nothing.
  func testCurveServerAdmitsOnlyAllowedKeys() throws {
    try requireCurve()
    let context = try ZMQContext()
    let server = try CurveKeyPair.generate()
    let alice = try CurveKeyPair.generate()
    let mallory = try CurveKeyPair.generate()
    try alice.write(to: directory, name: "alice")
    try mallory.write(to: directory.appendingPathComponent("elsewhere-\(UUID().uuidString)", isDirectory: true).creatingDirectory(), name: "mallory")
    let decisions = Mailbox<ZAPHandler.Decision>()
    let zap = try ZAPHandler(context: context, keysDirectory: directory, domain: WireProtocol.zapDomain) { decisions.put($0) }
    defer { zap.stop() }
    XCTAssertEqual(zap.currentAllowList, [alice.publicKey: "alice"])

    let router = try ZMQSocket(context, .router)
    try router.set([.curveServer(secretKey: server.secretKey), .zapDomain(WireProtocol.zapDomain), .zapEnforceDomain(true)])
    try router.bind("tcp://127.0.0.1:*")
    let endpoint = try router.lastEndpoint()

    func client(_ keys: CurveKeyPair) throws -> ZMQSocket {
      let socket = try ZMQSocket(context, .dealer)
      try socket.set(.curveClient(serverPublicKey: server.publicKey, publicKey: keys.publicKey, secretKey: keys.secretKey))
      try socket.connect(endpoint)
      return socket
    }

    let good = try client(alice)
    let request = ClientRequest(command: .health, requestID: "curve-1")
    try good.send(frames: WireMessage.encode(request))
    let message = try XCTUnwrap(router.receiveMessage(timeoutMilliseconds: 3000))
    XCTAssertEqual(message.userID, "alice")
    let (envelope, content) = try XCTUnwrap(Envelope.split(message.frames))
    XCTAssertEqual(try WireMessage.decodeClientRequest(frames: content), request)
    try router.send(frames: envelope.wrap(WireMessage.encode(ClientReply(to: request, body: .ok("secure")))))
    let reply = try WireMessage.decodeClientReply(frames: XCTUnwrap(good.receive(timeoutMilliseconds: 3000)))
    XCTAssertEqual(reply.body, .ok("secure"))
    XCTAssertEqual(decisions.take()?.userID, "alice")

    let bad = try client(mallory)
    try bad.send(frames: WireMessage.encode(ClientRequest(command: .health, requestID: "curve-2")))
    let refusal = try XCTUnwrap(decisions.take())
    XCTAssertNil(refusal.userID)
    XCTAssertEqual(refusal.publicKey, mallory.publicKey)
    XCTAssertNil(try router.receive(timeoutMilliseconds: 500), "a refused client's request must not arrive")
    XCTAssertNil(try bad.receive(timeoutMilliseconds: 50))

    // A client speaking plain text to the CURVE server gets nowhere either.
    let plain = try ZMQSocket(context, .dealer)
    try plain.connect(endpoint)
    try plain.send(frames: WireMessage.encode(ClientRequest(command: .health, requestID: "plain")))
    XCTAssertNil(try router.receive(timeoutMilliseconds: 300))

    // The Lazy Pirate client with the allowed key works end to end.
    let served = Background { [router = HandOver(router)] in
      guard let frames = try? router.value.receive(timeoutMilliseconds: 3000),
        let (envelope, content) = Envelope.split(frames),
        let request = try? WireMessage.decodeClientRequest(frames: content)
      else { return }
      try? router.value.send(frames: envelope.wrap(WireMessage.encode(ClientReply(to: request, body: .ok("pirate")))))
    }
    let pirate = try LazyPirateClient(
      configuration: .init(
        endpoint: endpoint, timeoutMilliseconds: 2000, attempts: 1,
        curve: CurveClientKeys(serverPublicKey: server.publicKey, client: alice)),
      context: context)
    XCTAssertEqual(try pirate.request(.health), "pirate")
    XCTAssertTrue(served.join())
  }
}

extension URL {
  /// Creates the directory and returns it.
  fileprivate func creatingDirectory() throws -> URL {
    try FileManager.default.createDirectory(at: self, withIntermediateDirectories: true)
    return self
  }
}
