import DiswotLog
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `diswot-worker` children of `diswotd --local-workers N`: started once the worker
/// endpoint is bound, restarted (with back-off) when one dies, stopped on shutdown. Each
/// child is told to exit if the daemon dies (`--exit-with-parent`), so a `kill -9` of the
/// daemon leaves no orphans behind once they notice (within a heartbeat interval).
final class LocalWorkerPool {
  struct Child {
    var pid: pid_t
    var startedAt: Int
    var failures: Int
    var restartAt: Int?
  }

  let executable: String
  let arguments: [String]
  private(set) var children: [Child] = []

  init(executable: String, arguments: [String], count: Int) {
    self.executable = executable
    self.arguments = arguments
    children = (0..<count).map { _ in Child(pid: 0, startedAt: 0, failures: 0, restartAt: 0) }
  }

  /// The pids of the running children.
  var pids: [pid_t] { children.compactMap { $0.pid > 0 ? $0.pid : nil } }

  /// Starts children that are due, reaps dead ones and schedules their restart.
  func tick(now: Int) {
    for i in children.indices {
      if children[i].pid > 0 {
        var status: Int32 = 0
        let rc = waitpid(children[i].pid, &status, WNOHANG)
        if rc == children[i].pid || (rc < 0 && errno == ECHILD) {
          let lived = now - children[i].startedAt
          children[i].failures = lived < 10_000 ? children[i].failures + 1 : 0
          let delay = min(30_000, 500 << min(children[i].failures, 6))
          Log.warning("local worker \(children[i].pid) \(Self.describe(status)); restarting in \(delay) ms")
          children[i].pid = 0
          children[i].restartAt = now + delay
        }
      }
      if children[i].pid == 0, let due = children[i].restartAt, now >= due {
        if let pid = spawn() {
          children[i].pid = pid
          children[i].startedAt = now
          children[i].restartAt = nil
          Log.info("started local worker \(pid)")
        } else {
          children[i].restartAt = now + 5_000
        }
      }
    }
  }

  /// SIGTERM to every child, up to `graceMilliseconds` for them to exit, then SIGKILL.
  func stop(graceMilliseconds: Int = 5_000) {
    for child in children where child.pid > 0 { kill(child.pid, SIGTERM) }
    let deadline = Monotonic.milliseconds() + graceMilliseconds
    var remaining = children.filter { $0.pid > 0 }.map(\.pid)
    while !remaining.isEmpty {
      remaining = remaining.filter { pid in
        var status: Int32 = 0
        let rc = waitpid(pid, &status, WNOHANG)
        return rc == 0
      }
      if remaining.isEmpty { break }
      if Monotonic.milliseconds() >= deadline {
        for pid in remaining {
          Log.warning("local worker \(pid) did not stop; killing it")
          kill(pid, SIGKILL)
          var status: Int32 = 0
          waitpid(pid, &status, 0)
        }
        break
      }
      usleep(20_000)
    }
    for i in children.indices { children[i].pid = 0; children[i].restartAt = nil }
  }

  private func spawn() -> pid_t? {
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, executable, nil, nil, argv, environ)
    guard rc == 0 else {
      Log.error("cannot start \(executable): \(String(cString: strerror(rc)))")
      return nil
    }
    return pid
  }

  static func describe(_ status: Int32) -> String {
    let signal = status & 0x7F
    if signal == 0 { return "exited with status \((status >> 8) & 0xFF)" }
    return "was killed by signal \(signal)"
  }

  /// The `diswot-worker` beside the running executable.
  static func defaultExecutable() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    let me = n > 0 ? String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self) : URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
    return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("diswot-worker").path
  }
}
