import DiswotJSON
import DiswotModels
import DiswotSearch
import DiswotStore
import DiswotWire
import Foundation
import XCTest

@testable import DiswotDaemon

#if canImport(Glibc)
import Glibc
#endif

/// The build directory: the test bundle and every executable product side by side.
let buildDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()

/// A long-running child process (the daemon, a worker) whose standard error goes to a file.
final class Child {
  let process = Process()
  let log: URL

  /// Starts `name`; standard error (and standard output, unless `stdout` is given) goes to `log`.
  /// With `launcher` (e.g. `["/usr/sbin/ip", "netns", "exec", "ns1"]`) the executable runs
  /// through it.
  init(_ name: String, _ arguments: [String], log: URL, stdout: URL? = nil, launcher: [String] = []) throws {
    let executable = buildDirectory.appendingPathComponent(name)
    // A missing executable is a broken build, not a reason to pass: fail (issue 11, item 12).
    guard FileManager.default.isExecutableFile(atPath: executable.path) else {
      throw MissingExecutable(path: executable.path)
    }
    self.log = log
    _ = FileManager.default.createFile(atPath: log.path, contents: nil)
    let handle = try FileHandle(forWritingTo: log)
    handle.seekToEndOfFile()
    if let first = launcher.first {
      process.executableURL = URL(fileURLWithPath: first)
      process.arguments = Array(launcher.dropFirst()) + [executable.path] + arguments
    } else {
      process.executableURL = executable
      process.arguments = arguments
    }
    if let stdout {
      _ = FileManager.default.createFile(atPath: stdout.path, contents: nil)
      process.standardOutput = try FileHandle(forWritingTo: stdout)
    } else {
      process.standardOutput = handle
    }
    process.standardError = handle
    try process.run()
  }

  var pid: pid_t { process.processIdentifier }
  var isRunning: Bool { process.isRunning }
  var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

  /// Sends `signal` and waits up to `seconds` for the exit; SIGKILL after that.
  @discardableResult
  func stop(_ signal: Int32 = SIGTERM, seconds: Double = 10) -> Bool {
    guard process.isRunning else { return true }
    kill(pid, signal)
    let deadline = Date().addingTimeInterval(seconds)
    while process.isRunning && Date() < deadline { usleep(10_000) }
    if process.isRunning {
      kill(pid, SIGKILL)
      process.waitUntilExit()
      return false
    }
    process.waitUntilExit()
    return true
  }

  deinit { stop(SIGKILL, seconds: 5) }
}

/// `diswotd` on ephemeral loopback ports (or given ones), with a temporary state directory.
final class DaemonUnderTest {
  let child: Child
  let client: String
  let workers: String
  let events: String
  let stateDirectory: URL

  /// Starts a daemon and waits (≤ 30 s) for its ready file.
  init(
    state: URL, dataRoot: URL, localWorkers: Int = 0, extra: [String] = [],
    endpoints: (client: String, workers: String, events: String)? = nil, log: URL, launcher: [String] = []
  ) throws {
    let ready = state.deletingLastPathComponent().appendingPathComponent("ready-\(UUID().uuidString).json")
    var arguments = [
      "--state-dir", state.path, "--data-root", dataRoot.path, "--ready-file", ready.path,
      "--client", endpoints?.client ?? "tcp://127.0.0.1:*", "--workers", endpoints?.workers ?? "tcp://127.0.0.1:*",
      "--events", endpoints?.events ?? "tcp://127.0.0.1:*", "--local-workers", "\(localWorkers)",
      "--heartbeat-ms", "250", "--liveness", "4",
    ]
    arguments += extra
    child = try Child("diswotd", arguments, log: log, launcher: launcher)
    stateDirectory = state
    let deadline = Date().addingTimeInterval(30)
    var info: [String: JSONValue]?
    while Date() < deadline {
      if let data = FileManager.default.contents(atPath: ready.path), let json = JSONValue.parse(Array(data))?.objectValue {
        info = json
        break
      }
      if !child.isRunning { break }
      usleep(20_000)
    }
    guard let info, let c = info["client"]?.stringValue, let w = info["workers"]?.stringValue, let e = info["events"]?.stringValue else {
      child.stop(SIGKILL)
      throw DaemonTestError("diswotd did not start:\n\(child.logText)")
    }
    (client, workers, events) = (c, w, e)
  }

  var endpoints: (client: String, workers: String, events: String) { (client, workers, events) }

  /// A Lazy Pirate client of this daemon (1 s per attempt, 3 attempts).
  func pirate(curve: CurveClientKeys? = nil) throws -> LazyPirateClient {
    try LazyPirateClient(configuration: .init(endpoint: client, timeoutMilliseconds: 1_000, attempts: 3, curve: curve))
  }

  /// The store, opened read-mostly beside the daemon (WAL allows it).
  func store() throws -> Store { try Store(path: stateDirectory.appendingPathComponent("diswot.sqlite").path) }
}

struct DaemonTestError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// A finished command.
struct CommandResult {
  var status: Int32
  var stdout: String
  var stderr: String
  var json: JSONValue? { JSONValue.parse(stdout) }
}

/// Runs an executable to completion, killing it after `timeout` seconds (a test never hangs).
func runCommand(_ name: String, _ arguments: [String], timeout: Double = 120) throws -> CommandResult {
  let process = Process()
  process.executableURL = buildDirectory.appendingPathComponent(name)
  process.arguments = arguments
  let out = Pipe(), err = Pipe()
  process.standardOutput = out
  process.standardError = err
  try process.run()
  final class Box: @unchecked Sendable { var data = Data() }
  let outData = Box(), errData = Box()
  let group = DispatchGroup()
  for (pipe, box) in [(out, outData), (err, errData)] {
    group.enter()
    DispatchQueue.global().async {
      box.data = pipe.fileHandleForReading.readDataToEndOfFile()
      group.leave()
    }
  }
  let deadline = Date().addingTimeInterval(timeout)
  while process.isRunning && Date() < deadline { usleep(10_000) }
  if process.isRunning {
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    group.wait()
    throw DaemonTestError("\(name) \(arguments.joined(separator: " ")) timed out after \(timeout) s:\n\(String(decoding: errData.data, as: UTF8.self))")
  }
  process.waitUntilExit()
  group.wait()
  return CommandResult(
    status: process.terminationStatus, stdout: String(decoding: outData.data, as: UTF8.self),
    stderr: String(decoding: errData.data, as: UTF8.self))
}

/// Polls `condition` every 50 ms for up to `seconds`.
func waitUntil(_ seconds: Double, _ what: String, _ condition: () throws -> Bool) throws {
  let deadline = Date().addingTimeInterval(seconds)
  while Date() < deadline {
    if try condition() { return }
    usleep(50_000)
  }
  throw DaemonTestError("timed out after \(seconds) s waiting for \(what)")
}

/// A daemon request that tolerates the daemon being briefly away (returns nil then).
func ask(_ client: LazyPirateClient, _ command: ClientCommand, _ body: [String: JSONValue] = [:]) -> JSONValue? {
  try? client.request(command, body: body)
}

extension JSONValue {
  subscript(_ key: String) -> JSONValue { objectValue?[key] ?? .null }
  subscript(_ index: Int) -> JSONValue {
    guard let items = arrayValue, items.indices.contains(index) else { return .null }
    return items[index]
  }
}

/// Writes a small labelled CIFAR-10-format dataset (random pixels; labels follow a pattern
/// the pixels carry, so there is something to learn): `train` records in data_batch_1.bin,
/// empty data_batch_2…5, `test` records in test_batch.bin.
func writeCIFARFixture(to directory: URL, train: Int, test: Int) throws {
  var state: UInt64 = 0x9E37_79B9_7F4A_7C15
  func next() -> UInt64 {
    state = state &* 6364136223846793005 &+ 1442695040888963407
    return state >> 33
  }
  func records(_ n: Int) -> Data {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(n * 3073)
    for _ in 0..<n {
      let label = UInt8(next() % 10)
      bytes.append(label)
      for i in 0..<3072 {
        let base = Int(label) * 20 + (i / 1024) * 30
        bytes.append(UInt8(clamping: base + Int(next() % 60)))
      }
    }
    return Data(bytes)
  }
  try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  try records(train).write(to: directory.appendingPathComponent("data_batch_1.bin"))
  for b in 2...5 { try Data().write(to: directory.appendingPathComponent("data_batch_\(b).bin")) }
  try records(test).write(to: directory.appendingPathComponent("test_batch.bin"))
}

/// The pids of the daemon's workers, read off their names (`host:pid`).
func workerPIDs(_ client: LazyPirateClient) -> [pid_t] {
  (ask(client, .workers)?["workers"].arrayValue ?? []).compactMap { w in
    w["name"].stringValue?.split(separator: ":").last.flatMap { pid_t($0) }
  }
}

/// A search's engine as the daemon restores it: its checkpoint plus its evaluation and
/// unscorable rows (throws if they disagree — the store's promise).
func restoredEngine(_ store: Store, searchID: String, space: String = "resnet-cifar-depth") throws -> SearchEngine {
  let record = try XCTUnwrap(try store.search(id: searchID))
  let document = try XCTUnwrap(JSONValue.parse(record.specJSON))
  let configuration = try JSONDecoder().decode(SearchConfiguration.self, from: Data(document["search"].compactText.utf8))
  return try EngineCheckpoint.restore(
    json: record.engineJSON, configuration: configuration, rows: try store.evaluations(searchID: searchID),
    unscorable: try store.unscorable(searchID: searchID), space: try SearchSpace.load(path: SearchSpaceLocator.resolve(space)))
}

/// Whether a process exists and is not a zombie (an orphan's zombie may linger when
/// nothing reaps it, as in some containers).
func isAlive(_ pid: pid_t) -> Bool {
  guard kill(pid, 0) == 0 else { return false }
  guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
    let close = stat.lastIndex(of: ")")
  else { return true }
  let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
  return state != "Z" && state != "X"
}

/// Sends one request with a body given as raw bytes (a DEALER socket of its own) and
/// returns the reply, for bodies a `ClientRequest` cannot express (malformed JSON).
func rawRequest(_ endpoint: String, _ command: String, body: [UInt8], timeoutMilliseconds: Int = 10_000) throws -> ClientReply {
  let context = try ZMQContext()
  let socket = try ZMQSocket(context, .dealer)
  defer { socket.close() }
  try socket.set(.linger(milliseconds: 0))
  try socket.connect(endpoint)
  let id = WireProtocol.newRequestID()
  try socket.send(frames: [WireProtocol.tagFrame, Array(command.utf8), Array(id.utf8), body])
  guard let frames = try socket.receive(timeoutMilliseconds: timeoutMilliseconds) else {
    throw DaemonTestError("no reply to \(command) in \(timeoutMilliseconds) ms")
  }
  return try WireMessage.decodeClientReply(frames: frames)
}

/// A worker played by the test over a real DEALER socket on the daemon's worker endpoint:
/// it sends READY, heartbeats while it waits, and answers only what the test tells it to —
/// for the behaviours no real worker shows on demand (one that never answers, one that
/// lies, one whose DONE arrives while the store is locked).
final class ScriptedWorker {
  let name: String
  private let context: ZMQContext
  private let socket: ZMQSocket
  /// Messages received and not yet taken by `next`.
  private(set) var backlog: [WorkerMessage] = []
  private var lastSent = 0

  init(endpoint: String, name: String, capabilities: [String] = ["score"]) throws {
    self.name = name
    context = try ZMQContext()
    socket = try ZMQSocket(context, .dealer)
    try socket.set([.linger(milliseconds: 0), .routingID(Array(name.utf8))])
    try socket.connect(endpoint)
    try send(WorkerMessage(WorkerReady(version: WireProtocol.softwareVersion, capabilities: capabilities, threads: 1, name: name)))
  }

  func send(_ message: WorkerMessage) throws {
    try socket.send(frames: WireMessage.encode(message))
    lastSent = Monotonic.milliseconds()
  }

  /// Receives for up to `milliseconds`, heartbeating every 100 ms.
  private func pump(_ milliseconds: Int) throws {
    let end = Monotonic.milliseconds() + milliseconds
    repeat {
      if Monotonic.milliseconds() - lastSent >= 100 { try send(.heartbeat) }
      if let frames = try socket.receive(timeoutMilliseconds: 20), let message = try? WireMessage.decodeWorkerMessage(frames: frames),
        message.command != .heartbeat
      {
        backlog.append(message)
      }
    } while Monotonic.milliseconds() < end
  }

  /// The next message of `command` (earlier ones of other commands stay in the backlog).
  func next(_ command: WorkerCommand, within seconds: Double) throws -> WorkerMessage {
    let end = Date().addingTimeInterval(seconds)
    while true {
      if let i = backlog.firstIndex(where: { $0.command == command }) { return backlog.remove(at: i) }
      guard Date() < end else { throw DaemonTestError("\(name): no \(command.rawValue) within \(seconds) s (backlog \(backlog.map(\.command.rawValue)))") }
      try pump(50)
    }
  }

  /// Stays connected (heartbeating) for `seconds`, collecting what arrives.
  func idle(_ seconds: Double) throws { try pump(Int(seconds * 1000)) }

  func close() { socket.close() }
}

/// A daemon test's executable is not built: the test fails, naming it.
struct MissingExecutable: Error, CustomStringConvertible {
  let path: String
  var description: String { "\(path) is not built (swift build --build-tests builds it)" }
}
