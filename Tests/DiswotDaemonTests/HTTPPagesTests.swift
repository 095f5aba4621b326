import DiswotJSON
import DiswotTestSupport
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// `diswotd --http`: the report pages served live from the daemon's own loop, over real
/// sockets — and every malformed, hostile or slow request answered with a 4xx (or cut off)
/// without the daemon crashing or its ZeroMQ side stalling (issue 15, item 2).
final class HTTPPagesTests: XCTestCase {
  private func startDaemon(_ dir: URL, localWorkers: Int = 0) throws -> (DaemonUnderTest, UInt16) {
    let daemon = try DaemonUnderTest(
      state: dir.appendingPathComponent("state"), dataRoot: dir, localWorkers: localWorkers, extra: ["--http", "127.0.0.1:0"],
      log: dir.appendingPathComponent("daemon.log"))
    let health = try runCommand("diswot", ["health", "--json", "--daemon", daemon.client])
    let url = try XCTUnwrap(health.json?["endpoints"]["http"].stringValue, health.stdout)
    XCTAssertTrue(url.hasPrefix("http://127.0.0.1:"), url)
    return (daemon, try XCTUnwrap(UInt16(url.split(separator: ":").last!)))
  }

  func testPagesOfASearchAndAJobLiveAndAsDiswotReportWritesThem() throws {
    let dir = try scratchDirectory(self)
    let cifar = dir.appendingPathComponent("cifar")
    try writeCIFARFixture(to: cifar, train: 16, test: 8)
    let (daemon, port) = try startDaemon(dir, localWorkers: 1)
    defer { daemon.child.stop() }
    let connect = ["--daemon", daemon.client]

    let search = try runCommand("diswot", [
      "search", "start", "--space", "resnet-cifar-depth", "--proxy", "params", "--budget", "6", "--batch", "8", "--name", "<i>web</i>",
      "--wait", "--json",
    ] + connect, timeout: 300)
    XCTAssertEqual(search.status, 0, search.stderr)
    let id = try XCTUnwrap(search.json?["id"].stringValue)

    let index = try HTTPExchange.get("/", port: port)
    XCTAssertEqual(index.status, 200)
    XCTAssertTrue(index.headers.contains("Content-Type: text/html; charset=utf-8"))
    XCTAssertTrue(index.headers.contains("Content-Security-Policy: default-src 'none'"))
    XCTAssertTrue(index.body.contains("<a href=\"/searches/\(id)\">"), index.body)
    XCTAssertTrue(index.body.contains("&lt;i&gt;web&lt;/i&gt;"))
    XCTAssertTrue(index.body.contains("<h2>Workers (1)</h2>"))

    let page = try HTTPExchange.get("/searches/\(id)", port: port)
    XCTAssertEqual(page.status, 200)
    XCTAssertTrue(page.body.contains("<g class=\"front\""))
    XCTAssertEqual(page.body.components(separatedBy: "<g class=\"student\">").count - 1, 3)
    XCTAssertTrue(page.body.contains("<code>space</code></td><td><code>resnet-cifar-depth</code>"))
    XCTAssertFalse(page.body.contains("http-equiv=\"refresh\""), "a finished search does not reload")
    XCTAssertFalse(page.body.contains("<script"))

    // The client writes the same page from the daemon's replies.
    let out = dir.appendingPathComponent("search.html").path
    let report = try runCommand("diswot", ["report", id, "--html", out] + connect)
    XCTAssertEqual(report.status, 0, report.stderr)
    let written = try String(contentsOfFile: out, encoding: .utf8)
    XCTAssertEqual(
      written.components(separatedBy: "<circle").count, page.body.components(separatedBy: "<circle").count,
      "the file and the live page draw the same points")

    let job = try runCommand("diswot", [
      "train", "start", "--search", id, "--data", "cifar10:\(cifar.path)", "--epochs", "2", "--batch", "8", "--wait", "--json",
    ] + connect, timeout: 300)
    XCTAssertEqual(job.status, 0, job.stderr)
    let jobID = try XCTUnwrap(job.json?["id"].stringValue, job.stdout)
    let jobPage = try HTTPExchange.get("/jobs/\(jobID)", port: port)
    XCTAssertEqual(jobPage.status, 200)
    XCTAssertTrue(jobPage.body.contains("Accuracy per epoch"))
    XCTAssertEqual(jobPage.body.components(separatedBy: "<polyline class=\"test-accuracy\"").count - 1, 1)
    XCTAssertTrue(jobPage.body.contains(">learning rate"))
    let jobOut = dir.appendingPathComponent("job.html").path
    let jobReport = try runCommand("diswot", ["report", jobID, "--html", jobOut] + connect)
    XCTAssertEqual(jobReport.status, 0, jobReport.stderr)
    XCTAssertTrue(try String(contentsOfFile: jobOut, encoding: .utf8).contains("<polyline class=\"images-per-second\""))
    let metrics = try runCommand("diswot", ["report", "no-such-id", "--html", jobOut] + connect)
    XCTAssertEqual(metrics.status, 3, metrics.stderr)
    XCTAssertTrue(metrics.stderr.contains("no search or training job with id 'no-such-id'"), metrics.stderr)

    XCTAssertEqual(try HTTPExchange.get("/searches/s-nope", port: port).status, 404)
    XCTAssertEqual(try HTTPExchange.get("/jobs/\(id)", port: port).status, 404, "a search id is no job")
    XCTAssertEqual(try HTTPExchange.raw("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", port: port).body, "")
  }

  func testBadRequestsGetTheirStatusAndNeverStallTheDaemon() throws {
    let dir = try scratchDirectory(self)
    let (daemon, port) = try startDaemon(dir)
    defer { daemon.child.stop() }

    // A slow client holding a half-sent head while everything else goes on.
    let slow = try RawHTTPConnection(port: port)
    slow.send("GET / HTTP/1.1\r\nHost: x\r\n")
    let slowStart = Date()

    let cases: [(String, Int)] = [
      ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405),
      ("DELETE /searches/s-1 HTTP/1.1\r\nHost: x\r\n\r\n", 405),
      ("GARBAGE\r\n\r\n", 400),
      ("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
      ("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
      ("GET / HTTP/1.1\r\n\r\n", 400),  // no Host
      ("GET / HTTP/1.1\r\nHost: x\r\nbad header\r\n\r\n", 400),
      ("GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 400),
      ("GET /searches/..%2F..%2Fetc%2Fpasswd HTTP/1.1\r\nHost: x\r\n\r\n", 400),
      ("GET /searches/a%2Fb HTTP/1.1\r\nHost: x\r\n\r\n", 404),
      ("GET /searches/%2e%2e HTTP/1.1\r\nHost: x\r\n\r\n", 400),
      ("GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400),
      ("GET http://evil/ HTTP/1.1\r\nHost: x\r\n\r\n", 400),
      ("GET /" + String(repeating: "a", count: 3000) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414),
      ("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "b", count: 20_000) + "\r\n\r\n", 431),
      ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 400),
      ("GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n", 404),
      ("GET /?q=1 HTTP/1.0\r\n\r\n", 200),
    ]
    for (request, status) in cases {
      let response = try HTTPExchange.raw(request, port: port)
      XCTAssertEqual(response.status, status, String(request.prefix(60)))
      XCTAssertTrue(response.headers.contains("Connection: close"))
    }
    // Nothing of the request is echoed back.
    let reflected = try HTTPExchange.get("/<script>alert(1)</script>", port: port)
    XCTAssertEqual(reflected.status, 404)
    XCTAssertFalse(reflected.body.contains("<script"))
    // Binary junk and a client that connects and leaves.
    let junk = try RawHTTPConnection(port: port)
    junk.send([0, 255, 13, 10, 13, 10] + Array(repeating: 0x80, count: 100))
    XCTAssertTrue(junk.readToEnd()?.hasPrefix("HTTP/1.1 400") == true)
    _ = try RawHTTPConnection(port: port)

    // More connections than the server holds: the surplus waits in the backlog, the
    // ZeroMQ side answers at once all the while, and the pages come back once they go.
    var hogs = try (0..<40).map { _ in try RawHTTPConnection(port: port) }
    let started = Date()
    let health = try runCommand("diswot", ["health", "--json", "--daemon", daemon.client])
    XCTAssertEqual(health.status, 0, health.stderr)
    XCTAssertLessThan(Date().timeIntervalSince(started), 2, "the daemon's loop is not held up by idle HTTP clients")
    hogs.removeAll()
    XCTAssertEqual(try HTTPExchange.get("/", port: port).status, 200)

    // The slow client is cut off with 408 after the head timeout (10 s), not kept forever.
    let response = try XCTUnwrap(slow.readToEnd(seconds: 20), "the slow client was never cut off")
    XCTAssertTrue(response.hasPrefix("HTTP/1.1 408 Request Timeout"), response)
    XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(slowStart), 9)
    XCTAssertTrue(daemon.child.isRunning, daemon.child.logText)
  }

  /// Out of file descriptors (a 40-descriptor limit, 30 page connections held open): the
  /// listener cannot be served, and the loop must not spin on it; once descriptors are
  /// free, pages and requests are answered again.
  func testRunningOutOfDescriptorsNeitherSpinsNorStallsTheLoop() throws {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit") else { throw XCTSkip("no prlimit") }
    let dir = try scratchDirectory(self)
    let daemon = try DaemonUnderTest(
      state: dir.appendingPathComponent("state"), dataRoot: dir, extra: ["--http", "127.0.0.1:0"],
      log: dir.appendingPathComponent("daemon.log"), launcher: ["/usr/bin/prlimit", "--nofile=40:40", "--"])
    defer { daemon.child.stop() }
    let health = try runCommand("diswot", ["health", "--json", "--daemon", daemon.client])
    let port = try XCTUnwrap(health.json?["endpoints"]["http"].stringValue.flatMap { UInt16($0.split(separator: ":").last!) })
    func cpuSeconds() throws -> Double {
      let stat = try String(contentsOfFile: "/proc/\(daemon.child.pid)/stat", encoding: .utf8)
      let fields = stat.components(separatedBy: ")").last!.split(separator: " ")
      return (Double(fields[11])! + Double(fields[12])!) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
    var held = try (0..<30).map { _ in try RawHTTPConnection(port: port) }
    usleep(500_000)
    let before = try cpuSeconds()
    usleep(2_000_000)
    XCTAssertLessThan(try cpuSeconds() - before, 0.5, "the loop spins on a listener it cannot serve")
    XCTAssertTrue(daemon.child.logText.contains("out of file descriptors"), daemon.child.logText)
    // (A new client connection needs a descriptor too, so the ZeroMQ side waits as well
    // until some are free: that is the limit, not the loop.)
    held.removeAll()
    usleep(200_000)
    XCTAssertEqual(try HTTPExchange.get("/", port: port).status, 200)
    XCTAssertEqual(try runCommand("diswot", ["health", "--daemon", daemon.client]).status, 0)
  }

  func testOnlyLoopbackIsServed() throws {
    let dir = try scratchDirectory(self)
    for address in ["0.0.0.0:8080", "[::]:0", "192.0.2.1:80", "example.com:80", "127.0.0.1", "127.0.0.1:99999"] {
      let result = try runCommand("diswotd", [
        "--state-dir", dir.appendingPathComponent("s").path, "--client", "tcp://127.0.0.1:*", "--workers", "tcp://127.0.0.1:*",
        "--events", "tcp://127.0.0.1:*", "--http", address,
      ])
      XCTAssertEqual(result.status, 2, "\(address): \(result.stderr)")
      XCTAssertTrue(result.stderr.contains("--http") || result.stderr.contains("refusing to serve HTTP"), result.stderr)
    }
    let refused = try runCommand("diswotd", [
      "--state-dir", dir.appendingPathComponent("s").path, "--client", "tcp://127.0.0.1:*", "--workers", "tcp://127.0.0.1:*",
      "--events", "tcp://127.0.0.1:*", "--http", "0.0.0.0:0",
    ])
    XCTAssertTrue(refused.stderr.contains("refusing to serve HTTP on 0.0.0.0: not a loopback address"), refused.stderr)
    XCTAssertTrue(refused.stderr.contains("ssh -L"), refused.stderr)
  }
}
