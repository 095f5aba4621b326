import DiswotCommandLine
import DiswotJSON
import DiswotWire
import Foundation

/// `diswot workers`, `health`, `version` (questions to the daemon) and `keygen` (CURVE keys).
enum ServiceCommands {
  static let workers = CommandSpec("workers", abstract: "List the workers connected to the daemon.", options: DaemonOptions.options)
  static let health = CommandSpec("health", abstract: "Check that the daemon answers; summarise its load.", options: DaemonOptions.options)
  static let version = CommandSpec(
    "version", abstract: "Print this tool's version and the daemon's ('diswot --version': this tool's alone, no daemon).",
    options: DaemonOptions.options)
  static let keygen = CommandSpec(
    "keygen", abstract: "Write a CURVE key pair: NAME.key (public) and NAME.key_secret (secret, mode 0600).",
    discussion: """
      Give NAME.key to the other side: a client's or worker's public key goes into the \
      daemon's --authorized-keys directory; the daemon's public key is what clients pass as \
      --curve-server-key and workers as --curve-server-key. Keep NAME.key_secret to yourself. \
      The files are czmq certificates (usable from pyzmq's zmq.auth, czmq, JeroMQ).
      """,
    options: [
      .value("out", valueName: "dir", help: "Directory to write the two files to (created if missing)."),
      .value("name", valueName: "name", help: "Key name: letters, digits, '-', '_', '.'."),
      .flag("force", help: "Replace existing files of that name."),
      .json,
    ])

  static func runWorkers(_ args: ParsedArguments) throws {
    let reply = try DaemonClient(args).request(.workers)
    if args.flag("json") { return try JSONOutput.print(reply) }
    var table = Table(headers: ["id", "name", "capabilities", "threads", "busy", "tasks done", "last heard"])
    for w in reply["workers"].arrayValue ?? [] {
      table.append([
        w["id"].stringValue ?? "", w["name"].stringValue ?? "", (w["capabilities"].arrayValue ?? []).compactMap(\.stringValue).joined(separator: ","),
        "\(w["threads"].intValue ?? 0)", w["job"].stringValue.map { "job \($0)" } ?? (w["busy"] == .bool(true) ? "scoring" : "idle"),
        "\(w["tasks_done"].intValue ?? 0)", "\(w["last_seen_ms"].intValue ?? 0) ms ago",
      ])
    }
    print(table.render(), terminator: "")
  }

  static func runHealth(_ args: ParsedArguments) throws {
    let client = try DaemonClient(args)
    let reply = try client.request(.health)
    if args.flag("json") { return try JSONOutput.print(reply) }
    print(String(
      format: "%@: diswotd %@ at %@, up %.0f s; %d workers, %d searches and %d training jobs active%@",
      reply["status"].stringValue ?? "?", reply["version"].stringValue ?? "?", client.endpoint, reply["uptime_s"].doubleValue ?? 0,
      reply["workers"].intValue ?? 0, reply["searches"].intValue ?? 0, reply["jobs"].intValue ?? 0,
      reply["curve"] == .bool(true) ? "; CURVE on" : ""))
  }

  /// What `diswot --version` prints.
  static let clientVersionLine = "diswot \(WireProtocol.softwareVersion) (protocol \(WireProtocol.tag))"

  static func runVersion(_ args: ParsedArguments) throws {
    let mine: JSONValue = ["version": .string(WireProtocol.softwareVersion), "protocol": .string(WireProtocol.tag)]
    let daemon: JSONValue
    do {
      daemon = try DaemonClient(args).request(.version)
    } catch let error as CommandLineError where error.exitCode == .unavailable {
      // With --json the error document says it; `diswot --version` needs no daemon.
      if !args.flag("json") { print("diswot \(WireProtocol.softwareVersion) (\(WireProtocol.tag)); daemon: not reachable") }
      throw error
    }
    if args.flag("json") { return try JSONOutput.print(JSONValue.object(["client": mine, "daemon": daemon])) }
    print("diswot \(WireProtocol.softwareVersion) (\(WireProtocol.tag)); daemon diswotd \(daemon["version"].stringValue ?? "?") (\(daemon["protocol"].stringValue ?? "?"))")
  }

  static func runKeygen(_ args: ParsedArguments) throws {
    let directory = URL(fileURLWithPath: try args.require("out"))
    let name = try args.require("name")
    guard CurveKeyPair.isValidName(name) else { throw args.usageError("--name must be 1-64 letters, digits, '-', '_' or '.', not starting with '.'") }
    let publicFile = CurveKeyPair.publicFile(in: directory, name: name)
    let secretFile = CurveKeyPair.secretFile(in: directory, name: name)
    let fm = FileManager.default
    if !args.flag("force"), fm.fileExists(atPath: publicFile.path) || fm.fileExists(atPath: secretFile.path) {
      throw CommandLineError.data("\(name).key or \(name).key_secret already exists in \(directory.path); use --force to replace them")
    }
    do {
      try fm.createDirectory(at: directory, withIntermediateDirectories: true)
    } catch {
      throw CommandLineError.failure("cannot create \(directory.path): \(FileErrors.reason(error))")
    }
    do {
      let pair = try CurveKeyPair.generate()
      try pair.write(to: directory, name: name)
      if args.flag("json") {
        try JSONOutput.print(JSONValue.object([
          "name": .string(name), "public_key": .string(pair.publicKey), "public_file": .string(publicFile.path),
          "secret_file": .string(secretFile.path),
        ]))
      } else {
        print("public key \(pair.publicKey)\n  \(publicFile.path) (give this one to the other side)\n  \(secretFile.path) (secret, mode 0600)")
      }
    } catch let error as CurveError {
      throw CommandLineError.failure(error.message)
    }
  }
}
