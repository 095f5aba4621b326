import DiswotJSON
import Foundation
import XCTest

@testable import DiswotCommandLine

/// Collects what a sink receives, from any thread.
final class Captured: @unchecked Sendable {
  private let lock = NSLock()
  private var parts: [String] = []
  var sink: @Sendable (String) -> Void { { text in self.lock.withLock { self.parts.append(text) } } }
  var all: [String] { lock.withLock { parts } }
  var text: String { all.joined() }
}

/// A clock the test moves by hand.
final class ManualClock: @unchecked Sendable {
  private let lock = NSLock()
  private var seconds = 0.0
  var now: Double {
    get { lock.withLock { seconds } }
    set { lock.withLock { seconds = newValue } }
  }
  var read: @Sendable () -> Double { { self.now } }
}

struct Failing: Error, CustomStringConvertible { var description: String { "disk on fire" } }
struct Offline: ExitCodeProviding { var exitCode: ExitCode { .unavailable } }

final class ExitCodeTests: XCTestCase {
  func testSuccess() {
    XCTAssertEqual(outcome(of: {}, programName: "diswot"), Outcome(code: .success))
  }

  func testCommandLineErrorWithHint() {
    let result = outcome(of: { throw CommandLineError.usage("missing --weights", hint: "See 'diswot rank --help'.") },
                         programName: "diswot")
    XCTAssertEqual(result.code, .usage)
    XCTAssertEqual(result.code.rawValue, 2)
    XCTAssertEqual(result.standardError, "diswot: error: missing --weights\nSee 'diswot rank --help'.\n")
    XCTAssertNil(result.standardOutput)
  }

  func testMapping() {
    func code(_ error: any Error) -> ExitCode { outcome(of: { throw error }).code }
    XCTAssertEqual(code(CommandLineError.data("bad weights")), .dataError)
    XCTAssertEqual(code(CommandLineError.unavailable("daemon down")), .unavailable)
    XCTAssertEqual(code(CommandLineError.cancelled()), .cancelled)
    XCTAssertEqual(code(Offline()), .unavailable)
    XCTAssertEqual(code(CancellationError()), .cancelled)
    XCTAssertEqual(code(Failing()), .failure)
    XCTAssertEqual(ExitCode.interrupted.rawValue, 130)
    let bad = outcome(of: { _ = try JSONDecoder().decode([String: Int].self, from: Data("{".utf8)) },
                      programName: "diswot")
    XCTAssertEqual(bad.code, .dataError)
    XCTAssertTrue(bad.standardError?.hasPrefix("diswot: error: invalid JSON") ?? false)
  }

  func testJSONErrorDocumentOnStandardOutput() throws {
    let result = outcome(of: { throw CommandLineError.unavailable("daemon down", hint: "Start it.") }, programName: "diswot", jsonErrors: true)
    XCTAssertEqual(result.code, .unavailable)
    XCTAssertEqual(result.standardError, "diswot: error: daemon down\nStart it.\n")
    let document = try XCTUnwrap(JSONValue.parse(try XCTUnwrap(result.standardOutput)))
    XCTAssertEqual(document, ["error": ["code": "unavailable", "exit_code": 4, "message": "daemon down", "hint": "Start it."]])
    XCTAssertNil(outcome(of: { throw CommandLineError.usage("bad") }).standardOutput, "no JSON unless asked")
    XCTAssertTrue(JSONOutput.isRequested(by: ["health", "--json"]))
    XCTAssertFalse(JSONOutput.isRequested(by: ["eval", "--", "--json"]))
  }

  func testFoundationFileErrorsInPlainWords() {
    let denied = CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: "/ro/out"])
    XCTAssertEqual(outcome(of: { throw denied }, programName: "diswot").standardError, "diswot: error: cannot write /ro/out: permission denied\n")
    // A real one: a directory under a file.
    let message = outcome(of: { try FileManager.default.createDirectory(atPath: "/dev/null/x", withIntermediateDirectories: true) }).standardError ?? ""
    XCTAssertFalse(message.contains("Domain") || message.contains("UserInfo"), message)
    XCTAssertTrue(message.contains("/dev/null/x: "), message)
  }

  func testPlainErrorMessage() {
    XCTAssertEqual(outcome(of: { throw Failing() }, programName: "diswot-worker").standardError,
                   "diswot-worker: error: disk on fire\n")
  }

  func testHelpGoesToStandardOutputWithSuccess() {
    let result = outcome(of: { _ = try root.parse(["rank", "--help"]) })
    XCTAssertEqual(result.code, .success)
    XCTAssertNil(result.standardError)
    XCTAssertTrue(result.standardOutput?.hasPrefix("OVERVIEW: Rank") ?? false)
  }

  func testParseErrorsAreUsageErrors() {
    let result = outcome(of: { _ = try root.parse(["rnak"]) }, programName: "diswot")
    XCTAssertEqual(result.code, .usage)
    XCTAssertEqual(result.standardError,
                   "diswot: error: unknown subcommand 'rnak'; did you mean 'rank'?\nSee 'diswot --help'.\n")
  }

  func testAsyncOutcome() async {
    let result = await outcome(of: {
      try await Task.sleep(nanoseconds: 1)
      throw CommandLineError.data("x")
    })
    XCTAssertEqual(result.code, .dataError)
  }
}

final class JSONOutputTests: XCTestCase {
  struct Row: Encodable {
    var zeta = 1
    var alpha = "a/b"
    var score: Float = 0.1
    var loss = Double.nan
    var best = -Double.infinity
  }

  func testSortedKeysRoundTripFloatsAndNonFiniteAsNull() throws {
    XCTAssertEqual(
      try JSONOutput.string(Row(), pretty: false),
      #"{"alpha":"a/b","best":null,"loss":null,"score":0.1,"zeta":1}"#)
    XCTAssertEqual(try JSONOutput.string(Row()), try JSONOutput.string(Row()))
    let x = 0.1 + 0.2
    XCTAssertEqual(Double(try JSONOutput.string(x)), x)
  }

  /// One rule for every writer: `JSONText` (typed values), `JSONValue` (untyped ones,
  /// which used to turn a whole document into `null` for one NaN) and the wire encoder
  /// all write a non-finite number as `null` and keep the rest of the document.
  func testEveryWriterWritesNonFiniteNumbersAsNull() throws {
    struct Scores: Encodable { var scores: [String: Double]; var name: String }
    let typed = Scores(scores: ["diswot": -.infinity, "nwot": 3.5, "zen": .nan], name: "\u{1}diswot-non-finite!")
    XCTAssertEqual(
      try JSONText.string(typed),
      #"{"name":"\u0001diswot-non-finite!","scores":{"diswot":null,"nwot":3.5,"zen":null}}"#)
    let untyped: JSONValue = ["loss": .double(.nan), "epoch": 3, "lr": .double(.infinity)]
    XCTAssertEqual(untyped.compactText, #"{"epoch":3,"loss":null,"lr":null}"#)
    XCTAssertEqual(JSONValue.parse(untyped.compactText), ["loss": nil, "epoch": 3, "lr": nil])
    XCTAssertEqual(try JSONText.string(untyped, pretty: true), try JSONOutput.string(untyped))
  }

  func testPrettyIsSortedAndIndented() throws {
    let value: JSONValue = ["b": [1, 2.5, nil], "a": true, "c": ["y": "z"]]
    XCTAssertEqual(try JSONOutput.string(value), """
      {
        "a" : true,
        "b" : [
          1,
          2.5,
          null
        ],
        "c" : {
          "y" : "z"
        }
      }
      """)
  }

  func testJSONLinesToSinkAndFile() throws {
    let captured = Captured()
    let writer = JSONLinesWriter(sink: captured.sink)
    try writer.write(["step": 1, "loss": 0.5] as JSONValue)
    try writer.write(Row())
    XCTAssertEqual(captured.all, [
      #"{"loss":0.5,"step":1}"# + "\n",
      #"{"alpha":"a/b","best":null,"loss":null,"score":0.1,"zeta":1}"# + "\n",
    ])

    let path = NSTemporaryDirectory() + "diswot-jsonl-\(UUID().uuidString).jsonl"
    defer { try? FileManager.default.removeItem(atPath: path) }
    let file = try JSONLinesWriter(path: path)
    try file.write(["n": 1] as JSONValue)
    file.close()
    let again = try JSONLinesWriter(path: path, append: true)
    try again.write(["n": 2] as JSONValue)
    again.close()
    XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "{\"n\":1}\n{\"n\":2}\n")
    XCTAssertThrowsError(try JSONLinesWriter(path: "/nonexistent-dir/x.jsonl")) {
      XCTAssertEqual(($0 as? CommandLineError)?.exitCode, .failure)
      XCTAssertEqual(($0 as? CommandLineError)?.message, "cannot write /nonexistent-dir/x.jsonl: no such file or directory")
    }
  }
}

final class LogTests: XCTestCase {
  override func tearDown() {
    Log.setSink(Terminal.writeStandardError)
    Log.configure(quiet: false, verbose: false)
  }

  func testLevelsAndPrefixes() throws {
    let captured = Captured()
    Log.setSink(captured.sink)
    Log.configure(from: try root.parse(["rank", "--quiet"]))
    Log.info("hidden")
    Log.warning("careful")
    Log.configure(from: try root.parse(["rank", "-v"]))
    Log.debug("details")
    Log.info("shown")
    let name = ProgramName.current
    XCTAssertEqual(captured.all, ["\(name): warning: careful\n", "debug: details\n", "shown\n"])
    XCTAssertEqual(ProgressBar.automaticStyle == .silent, false)
    Log.configure(quiet: true, verbose: false)
    XCTAssertEqual(ProgressBar.automaticStyle, .silent)
  }
}

final class ProgressBarTests: XCTestCase {
  func testPlainOutputIsThrottled() {
    let clock = ManualClock(), captured = Captured()
    let bar = ProgressBar(total: 120, label: "rank", style: .plain, plainInterval: 5,
                          clock: clock.read, sink: captured.sink)
    for second in 1...12 {
      clock.now = Double(second)
      bar.advance(by: 10, detail: "r\(second)")
    }
    bar.finish()
    bar.finish()
    bar.advance()
    XCTAssertEqual(captured.all, [
      "rank: 50/120 (42%), 10.0/s, ETA 0:07, r5\n",
      "rank: 100/120 (83%), 10.0/s, ETA 0:02, r10\n",
      "rank: finished 120/120 in 0:12 (10.0/s), r12\n",
    ])
  }

  func testUnitAndResumedRunCountOnlyThisProcess() {
    let clock = ManualClock(), captured = Captured()
    // A run resumed at step 500 of 1000: 50 steps in 10 s is 5 steps/s, 450 left take 1:30.
    let bar = ProgressBar(total: 1000, label: "train", unit: "steps", completed: 500, style: .plain, plainInterval: 5,
                          clock: clock.read, sink: captured.sink)
    clock.now = 10
    bar.update(completed: 550, detail: "epoch 3/4")
    XCTAssertEqual(captured.all, ["train: 550/1000 steps (55%), 5.00 steps/s, ETA 1:30, epoch 3/4\n"])
  }

  /// A bar made at the first report of a step that began earlier (`startedAt`) counts that
  /// step and its time: one step done 2 s after the start is 0.5 steps/s, not 0.
  func testWorkStartedBeforeTheBarCounts() {
    let clock = ManualClock(), captured = Captured()
    clock.now = 3
    let bar = ProgressBar(total: 1, label: "train", unit: "steps", completed: 0, startedAt: 1, style: .plain,
                          clock: clock.read, sink: captured.sink)
    bar.update(completed: 1)
    bar.finish()
    XCTAssertEqual(captured.all, ["train: finished 1/1 steps in 0:02 (0.50 steps/s)\n"])
  }

  func testUnknownTotal() {
    let clock = ManualClock(), captured = Captured()
    let bar = ProgressBar(total: nil, label: "scan", style: .plain, clock: clock.read, sink: captured.sink)
    clock.now = 6
    bar.update(completed: 3000)
    XCTAssertEqual(captured.all, ["scan: 3000, 500/s\n"])
  }

  func testInteractiveRedrawsAtMostTenTimesASecond() {
    let clock = ManualClock(), captured = Captured()
    let bar = ProgressBar(total: 100, label: "train", style: .interactive,
                          clock: clock.read, sink: captured.sink, width: 100)
    for step in 1...100 {
      clock.now = Double(step) / 16  // exact in binary, so the throttle test is exact
      bar.advance()
    }
    bar.finish(detail: "loss 0.12")
    // 100 steps over 6.25 s: a redraw every second step (0.125 s apart), plus the finish.
    XCTAssertEqual(captured.all.count, 50 + 1)
    XCTAssertTrue(captured.all.dropLast().allSatisfy { $0.hasPrefix("\rtrain [") && !$0.contains("\n") })
    XCTAssertEqual(captured.all.last,
                   "\rtrain [########################] 100% 100/100 16.0/s loss 0.12\u{1B}[K\n")
    XCTAssertEqual(captured.all[24], "\rtrain [############............]  50% 50/100 16.0/s ETA 0:03\u{1B}[K")
  }

  func testSilentAndConcurrent() {
    let captured = Captured()
    let silent = ProgressBar(total: 10, label: "x", style: .silent, sink: captured.sink)
    DispatchQueue.concurrentPerform(iterations: 1000) { _ in silent.advance() }
    silent.finish()
    XCTAssertEqual(captured.all, [])

    let clock = ManualClock()
    let bar = ProgressBar(total: 1000, label: "x", style: .plain, clock: clock.read, sink: captured.sink)
    DispatchQueue.concurrentPerform(iterations: 1000) { _ in bar.advance() }
    clock.now = 1
    bar.finish()
    XCTAssertEqual(captured.all, ["x: finished 1000/1000 in 0:01 (1000/s)\n"])
  }

  func testClockTime() {
    XCTAssertEqual(ProgressBar.clockTime(29.4), "0:29")
    XCTAssertEqual(ProgressBar.clockTime(725), "12:05")
    XCTAssertEqual(ProgressBar.clockTime(3723), "1:02:03")
    XCTAssertEqual(ProgressBar.clockTime(.infinity), "?")
  }
}

final class TableTests: XCTestCase {
  func testAlignment() {
    var table = Table(headers: ["model", "params", "acc"])
    table.append(["resnet20", "272474", "91.7%"])
    table.append(["resnet110", "1730714", "93.4%"])
    table.append(["mobilenet"])
    XCTAssertEqual(table.render(), """
      model       params    acc
      ---------  -------  -----
      resnet20    272474  91.7%
      resnet110  1730714  93.4%
      mobilenet

      """)
  }

  func testExplicitAlignment() {
    var table = Table(headers: ["id", "n"], alignments: [.right, .left])
    table.append(["a", "1"])
    table.append(["bbb", "22"])
    XCTAssertEqual(table.render(), " id  n\n---  --\n  a  1\nbbb  22\n")
  }
}

final class TerminalTests: XCTestCase {
  func testWidthFallsBackToSomethingUsable() {
    XCTAssertGreaterThan(Terminal.width(of: -1), 0)
  }
}
