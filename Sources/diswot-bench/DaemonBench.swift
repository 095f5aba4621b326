import DiswotCommandLine
import DiswotJSON
import DiswotScoring
import DiswotWire
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Benchmarks of the service, run against real diswotd and diswot-worker processes (built
/// beside this executable) on loopback, each daemon with a fresh temporary state directory.
enum DaemonBench {
  struct BrokerResult: Encodable {
    var workers: Int
    var tasks: Int
    var seconds: Double
    var tasksPerSecond: Double

    enum CodingKeys: String, CodingKey {
      case workers, tasks, seconds
      case tasksPerSecond = "tasks_per_second"
    }
  }

  struct SearchResult: Encodable {
    var workers: Int
    var noop: Bool
    var evaluations: Int
    var seconds: Double
    var evaluationsPerSecond: Double
    /// From the first recorded evaluation to the last: without the workers' one-off set-up
    /// (teacher and probe batch), which the first result waits for.
    var steadyEvaluationsPerSecond: Double
    var workerSeconds: Double

    enum CodingKeys: String, CodingKey {
      case workers, noop, evaluations, seconds
      case evaluationsPerSecond = "evaluations_per_second", workerSeconds = "worker_seconds"
      case steadyEvaluationsPerSecond = "steady_evaluations_per_second"
    }
  }

  static var directory: URL {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    let me = n > 0 ? String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
    return URL(fileURLWithPath: me).deletingLastPathComponent()
  }

  /// Starts diswotd with `arguments` (plus a temporary state directory and free ports).
  static func startDaemon(_ arguments: [String], captureOutput: Pipe? = nil) throws -> (Process, URL, [String: JSONValue]) {
    let state = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
    let ready = state.appendingPathComponent("ready.json")
    let process = Process()
    process.executableURL = directory.appendingPathComponent("diswotd")
    process.arguments = [
      "--state-dir", state.appendingPathComponent("state").path, "--ready-file", ready.path, "--client", "tcp://127.0.0.1:*",
      "--workers", "tcp://127.0.0.1:*", "--events", "tcp://127.0.0.1:*", "--quiet",
    ] + arguments
    process.standardOutput = captureOutput ?? FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(30)
    while Date() < deadline {
      if let data = FileManager.default.contents(atPath: ready.path), let info = JSONValue.parse(Array(data))?.objectValue {
        return (process, state, info)
      }
      guard process.isRunning else { break }
      usleep(20_000)
    }
    process.terminate()
    throw CommandLineError.failure("diswotd did not start")
  }

  /// Round trips of one-candidate no-op TASKs through the daemon's broker.
  static func broker(tasks: Int, workers: Int) throws -> BrokerResult {
    let output = Pipe()
    let (process, state, _) = try startDaemon(
      ["--local-workers", "\(workers)", "--noop-workers", "--bench-broker", "\(tasks)", "--prefetch", "7"], captureOutput: output)
    defer { try? FileManager.default.removeItem(at: state) }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last, let json = JSONValue.parse(String(line)),
      let seconds = json.objectValue?["seconds"]?.doubleValue, let done = json.objectValue?["tasks"]?.intValue
    else { throw CommandLineError.failure("diswotd --bench-broker printed no result") }
    return BrokerResult(workers: workers, tasks: done, seconds: seconds, tasksPerSecond: Double(done) / seconds)
  }

  /// A whole search through the daemon (engine, SQLite, workers), timed from `search.start`
  /// to the `finished` state.
  static func search(
    workers: Int, noop: Bool, space: String, teacher: String, batch: Int, budget: Int
  ) throws -> SearchResult {
    let (process, state, info) = try startDaemon(
      ["--local-workers", "\(workers)", "--worker-threads", "1", "--worker-capabilities", "score"] + (noop ? ["--noop-workers"] : []))
    defer {
      process.terminate()
      process.waitUntilExit()
      try? FileManager.default.removeItem(at: state)
    }
    let client = try LazyPirateClient(configuration: .init(endpoint: info["client"]?.stringValue ?? "", timeoutMilliseconds: 10_000))
    let deadline = Date().addingTimeInterval(60)
    while (try client.request(.workers)).objectValue?["workers"]?.arrayValue?.count ?? 0 < workers {
      guard Date() < deadline else { throw CommandLineError.failure("the workers did not connect") }
      usleep(20_000)
    }
    let scoring = ScoringSpec(space: space, teacher: .init(name: teacher), batch: batch, proxies: [.diswot])
    let body: [String: JSONValue] = [
      "scoring": JSONValue.parse(Array(try JSONText.data(scoring)))!,
      "search": ["strategy": "random", "population": 10, "sample": 3, "budget": .int(budget), "seed": 0, "maxAttempts": 100_000],
    ]
    let id = try client.request(.searchStart, body: body).objectValue?["id"]?.stringValue ?? ""
    var status: [String: JSONValue] = [:]
    repeat {
      usleep(200_000)  // seldom: the daemon's own timestamps give the durations
      status = try client.request(.searchStatus, body: ["id": .string(id)]).objectValue ?? [:]
    } while status["state"]?.stringValue == "running"
    let parse = { (text: String?) in text.flatMap { try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse($0) } }
    guard let created = parse(status["created"]?.stringValue), let updated = parse(status["updated"]?.stringValue) else {
      throw CommandLineError.failure("no timestamps in the search status")
    }
    let seconds = updated.timeIntervalSince(created)
    guard status["state"]?.stringValue == "finished" else { throw CommandLineError.failure("search ended \(status["state"]?.stringValue ?? "?"): \(status["error"]?.stringValue ?? "")") }
    let best = try client.request(.searchBest, body: ["id": .string(id), "k": .int(min(budget, 1_000))])
    let items = (best.objectValue?["best"]?.arrayValue ?? []).compactMap(\.objectValue)
    let workerSeconds = items.compactMap { $0["seconds"]?.doubleValue }.reduce(0, +)
    let times = items.compactMap { parse($0["created"]?.stringValue) }.sorted()
    let evaluations = status["evaluations"]?.intValue ?? 0
    // The evaluations of the first RESULT share its timestamp; count the ones after it.
    let first = times.first ?? Date()
    let later = times.filter { $0 > first }.count
    let steady = later > 0 && evaluations <= items.count ? Double(later) / max(1e-6, times.last!.timeIntervalSince(first)) : .nan
    return SearchResult(
      workers: workers, noop: noop, evaluations: evaluations, seconds: seconds,
      evaluationsPerSecond: Double(evaluations) / seconds, steadyEvaluationsPerSecond: steady, workerSeconds: workerSeconds)
  }
}
