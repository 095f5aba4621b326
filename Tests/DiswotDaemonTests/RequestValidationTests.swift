import DiswotJSON
import DiswotScoring
import DiswotSearch
import DiswotTestSupport
import DiswotWire
import Foundation
import XCTest

@testable import DiswotDaemon

/// The daemon's request checks, in-process: strict fields, path confinement, limits.
final class RequestValidationTests: XCTestCase {
  func testUnknownFieldsAreNamedAtAnyDepth() throws {
    var body = DaemonRobustnessTests.searchBody
    let root = try DataRoot(FileManager.default.currentDirectoryPath)
    XCTAssertNoThrow(try RequestValidation.searchStart(body, dataRoot: root))
    body["scoring"] = .object((body["scoring"]?.objectValue ?? [:]).merging(["teacher": ["name": "resnet20", "wieghts": "x"]]) { _, b in b })
    XCTAssertThrowsError(try RequestValidation.searchStart(body, dataRoot: root)) { error in
      XCTAssertEqual((error as? WireError)?.code, .invalidArgument)
      XCTAssertTrue("\(error)".contains("scoring.teacher.wieghts"), "\(error)")
    }
    XCTAssertThrowsError(try RequestValidation.searchStart(DaemonRobustnessTests.searchBody.merging(["budget": 5]) { a, _ in a }, dataRoot: root)) {
      XCTAssertTrue("\($0)".contains("'budget'"), "\($0)")
    }
    // Nulls stand for absent optionals.
    var nulls = DaemonRobustnessTests.searchBody
    nulls["scoring"] = .object((nulls["scoring"]?.objectValue ?? [:]).merging(["classes": .null]) { _, b in b })
    XCTAssertNoThrow(try RequestValidation.searchStart(nulls, dataRoot: root))
  }

  /// One budget limit everywhere (it was 10⁶ here and 10⁷ for `search --local`).
  func testTheBudgetHasOneLimitLocallyAndInTheDaemon() throws {
    let root = try DataRoot(FileManager.default.currentDirectoryPath)
    func body(budget: Int) -> [String: JSONValue] {
      var body = DaemonRobustnessTests.searchBody
      body["search"] = .object((body["search"]?.objectValue ?? [:]).merging(["budget": .int(budget)]) { _, b in b })
      return body
    }
    XCTAssertNoThrow(try RequestValidation.searchStart(body(budget: 1_000_000), dataRoot: root))
    XCTAssertThrowsError(try RequestValidation.searchStart(body(budget: 1_000_001), dataRoot: root)) {
      XCTAssertTrue("\($0)".contains("budget must be between 1 and 1000000, got 1000001"), "\($0)")
    }
    let local = try runCommand("diswot", ["search", "--local", "--space", "resnet-cifar-depth", "--budget", "1000001"])
    XCTAssertEqual(local.status, 2, local.stderr)
    XCTAssertTrue(local.stderr.contains("1000000"), local.stderr)
  }

  func testPathsMustStayInsideTheDataRoot() throws {
    let dir = try scratchDirectory(self)
    let inside = dir.appendingPathComponent("inside")
    try FileManager.default.createDirectory(at: inside.appendingPathComponent("data"), withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(atPath: inside.appendingPathComponent("escape").path, withDestinationPath: "/etc")
    let root = try DataRoot(inside.path)
    XCTAssertEqual(try root.resolve("data", what: "x"), root.path + "/data")
    XCTAssertEqual(try root.resolveData("cifar10:data", what: "x"), "cifar10:" + root.path + "/data")
    XCTAssertEqual(try root.resolveData("gaussian", what: "x"), "gaussian")
    for outside in ["/etc", "../", "data/../../", "escape", "escape/passwd", "missing"] {
      XCTAssertThrowsError(try root.resolve(outside, what: "x"), outside) { XCTAssertEqual(($0 as? WireError)?.code, .invalidArgument) }
    }
    XCTAssertEqual(try root.resolveSpace("resnet-cifar-depth").spec, "resnet-cifar-depth")
    XCTAssertThrowsError(try root.resolveSpace("../../etc/passwd"))
  }

  func testReplyCacheKeepsTheNewest() {
    var cache = ReplyCache(capacity: 3)
    for i in 0..<10 { cache.store(ClientReply(command: "health", requestID: "r\(i)", body: .ok(.int(i)))) }
    XCTAssertNil(cache.reply(for: "r6"))
    XCTAssertEqual(cache.reply(for: "r9")?.body, .ok(9))
    XCTAssertEqual(cache.reply(for: "r7")?.body, .ok(7))
  }
}
