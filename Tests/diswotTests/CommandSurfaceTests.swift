import DiswotTestSupport
import Foundation
import XCTest

/// The command-line surface as a user meets it (issue 12, items 4-7 and 14), through the
/// real executable: each command's help and parser agree on exactly its options, flags
/// mean one thing, bad values exit 2, unwritable files are plain sentences, `--json`
/// failures are JSON, daemon commands check what they can before the network.
final class CommandSurfaceTests: XCTestCase {
  static let scoring = [
    "space", "teacher", "teacher-arch", "teacher-weights", "teacher-shortcut", "data", "batch", "classes", "seed", "repeats",
    "probes", "reference-size", "reference-seed", "init", "class-gram", "resize", "skip-bad-images",
  ]
  static let search = ["proxy", "strategy", "population", "tournament", "budget", "window", "max-params", "max-macs", "max-latency-ms", "top"]
  static let training = [
    "student", "student-shortcut", "space", "arch", "teacher", "teacher-weights", "teacher-mix", "data", "ignore-labels", "unlabelled", "filter", "train-limit", "test-limit", "epochs", "batch",
    "lr", "schedule", "momentum", "weight-decay", "nesterov", "distill", "gamma", "alpha", "beta", "T", "label-smoothing", "no-augment",
    "seed", "checkpoint-every", "config", "image-size", "resize", "skip-bad-images",
  ]
  static let ranking = ["data", "candidates", "split", "limit", "k", "measure", "image-size", "batch", "mean", "std"]
  static let daemon = ["daemon", "curve-server-key", "key", "timeout-ms", "json"]
  static let local = ["threads", "max-memory"]

  /// Every command, the options it uses, and one it does not (another command's).
  static let commands: [(path: [String], options: [String], foreign: [String])] = [
    (["eval"], ["weights", "model", "data", "image-size", "resize", "skip-bad-images", "split", "batch", "limit", "mean", "std", "threads", "logits", "json"], ["--space", "x"]),
    (["teachers"], ranking + ["threads", "json"], ["--teacher", "x"]),
    (["teachers", "start"], ["name", "wait"] + ranking + daemon + ["events"], ["--threads", "2"]),
    (["teachers", "status"], daemon, ["--k", "3"]),
    (["teachers", "watch"], daemon, ["--k", "3"]),
    (["score"], ["all", "sample", "arch", "student-weights", "proxies", "json", "jsonl"] + scoring + local, ["--tournament", "3"]),
    (["rank"], ["scores", "truth", "truth-field", "json"], ["--space", "x"]),
    (["quality"], ["truth", "truth-field", "sample", "sample-seed", "probe-seeds", "proxies", "cost-sample", "jsonl", "json"]
      + scoring.filter { $0 != "seed" } + local, ["--seed", "1"]),
    (["search"], ["local", "json", "jsonl"] + search + scoring + local, ["--wait"]),
    (["search", "start"], ["wait", "name"] + search + scoring + daemon + ["events"], ["--local"]),
    (["search", "status"], daemon, ["--budget", "5"]),
    (["search", "watch"], ["top"] + daemon, ["--budget", "5"]),
    (["search", "list"], ["limit"] + daemon, ["--local"]),
    (["search", "best"], ["top"] + daemon, ["--space", "x"]),
    (["search", "cancel"], daemon, ["--events", "x"]),
    (["search", "pause"], daemon, ["--wait"]),
    (["search", "resume"], daemon, ["--jsonl", "x"]),
    (["train"], training + ["out", "resume", "json"] + local, ["--search", "s-1"]),
    (["train", "start"], ["search", "name", "wait"] + training + daemon + ["events"], ["--out", "x"]),
    (["train", "status"], daemon, ["--epochs", "3"]),
    (["train", "list"], ["limit"] + daemon, ["--epochs", "3"]),
    (["train", "watch"], daemon, ["--out", "x"]),
    (["train", "cancel"], daemon, ["--student", "resnet20"]),
    (["export"], ["out", "weights", "space", "arch", "model", "shortcut", "classes", "weights-out", "seed", "json"], ["--data", "x"]),
    (["workers"], daemon, ["--top", "1"]),
    (["health"], daemon, ["--events", "x"]),
    (["version"], daemon, ["--budget", "1"]),
    (["keygen"], ["out", "name", "force", "json"], ["--daemon", "x"]),
    (["report"], ["html", "scores", "truth", "truth-field", "spec", "proxy", "run", "top"] + daemon.filter { $0 != "json" }, ["--budget", "5"]),
  ]

  /// The long names of a help text's option rows ("  -q, --quiet", "      --json").
  func listedOptions(_ help: String) -> Set<String> {
    Set(help.split(separator: "\n").compactMap { line -> String? in
      guard let match = line.firstMatch(of: /^  (?:-[A-Za-z], |    )--([A-Za-z-]+)/) else { return nil }
      return String(match.1)
    })
  }

  func testEveryCommandsHelpListsExactlyTheOptionsItAccepts() throws {
    for command in Self.commands {
      let help = try Executables.run("diswot", command.path + ["--help"])
      XCTAssertEqual(help.status, 0, "\(command.path)")
      XCTAssertEqual(
        listedOptions(help.standardOutput), Set(command.options + ["quiet", "verbose", "help"]), "\(command.path)\n\(help.standardOutput)")
      XCTAssertEqual(command.options.count, Set(command.options).count, "\(command.path): listed twice in this test")
    }
    // Every command the help lists is checked here, so a new one cannot be left out.
    let covered = Set(Self.commands.map { $0.path.joined(separator: " ") })
    for parent in [[], ["search"], ["train"], ["teachers"]] {
      let help = try Executables.run("diswot", parent + ["--help"]).standardOutput
      let section = help.components(separatedBy: "SUBCOMMANDS:").last!.split(separator: "\n", omittingEmptySubsequences: false)
        .dropFirst().prefix { !$0.isEmpty }
      // A name starts its row two columns in; wrapped descriptions are indented further.
      let names = section.filter { $0.hasPrefix("  ") && !$0.hasPrefix("   ") }.compactMap { $0.split(separator: " ").first.map(String.init) }
      XCTAssertFalse(names.isEmpty, "\(parent) lists its subcommands")
      for name in names {
        XCTAssertTrue(covered.contains((parent + [name]).joined(separator: " ")), "\(parent + [name]) is not checked by this test")
      }
    }
  }

  func testAnOptionACommandDoesNotUseIsAUsageError() throws {
    for command in Self.commands {
      let positional = ["status", "watch", "best", "cancel", "pause", "resume"].contains(command.path.last!) ? ["s-1"] : []
      let started = Date()
      let result = try Executables.run("diswot", command.path + positional + command.foreign)
      XCTAssertEqual(result.status, 2, "\(command.path) \(command.foreign): \(result.standardError)")
      XCTAssertTrue(result.standardError.contains("unknown option '\(command.foreign[0])'"), result.standardError)
      XCTAssertLessThan(Date().timeIntervalSince(started), 2, "refused before any daemon was asked")
    }
    // The example, and an option of a parent given before the subcommand.
    let status = try Executables.run("diswot", ["search", "status", "ID", "--local", "--budget", "5"])
    XCTAssertEqual(status.status, 2, status.standardError)
    let parent = try Executables.run("diswot", ["search", "--budget", "5", "status", "ID"])
    XCTAssertEqual(parent.status, 2, parent.standardError)
    XCTAssertTrue(parent.standardError.contains("--budget is an option of 'diswot search', not of 'diswot search status'"), parent.standardError)
  }

  // MARK: item 5

  func testTournamentNotSampleForSearches() throws {
    let old = try Executables.run("diswot", ["search", "--local", "--space", "resnet-cifar-depth", "--sample", "3"])
    XCTAssertEqual(old.status, 2, old.standardError)
    XCTAssertTrue(old.standardError.contains("unknown option '--sample'"), old.standardError)
    let tooBig = try Executables.run("diswot", ["search", "--local", "--space", "resnet-cifar-depth", "--population", "4", "--tournament", "5"])
    XCTAssertEqual(tooBig.status, 2, tooBig.standardError)
    XCTAssertTrue(tooBig.standardError.contains("tournament size"), tooBig.standardError)
  }

  func testScoreJSONAndJSONLinesFile() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-surface-\(UUID())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let common = ["score", "--space", "resnet-cifar-depth", "--sample", "3", "--proxies", "params,macs", "--teacher", "resnet20", "--batch", "4"]
    // --jsonl FILE writes the lines there and the table still goes to standard output.
    let file = dir.appendingPathComponent("s.jsonl").path
    let table = try Executables.run("diswot", common + ["--jsonl", file])
    XCTAssertEqual(table.status, 0, table.standardError)
    XCTAssertTrue(table.standardOutput.contains("rank  key"), table.standardOutput)
    XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").count, 3)
    // '-' is standard output, instead of the table.
    let lines = try Executables.run("diswot", common + ["--jsonl", "-"])
    XCTAssertEqual(lines.standardOutput.split(separator: "\n").count, 3, lines.standardOutput)
    XCTAssertFalse(lines.standardOutput.contains("rank  key"))
    // --json: one document, ranked best first.
    let json = try Executables.run("diswot", common + ["--json"])
    XCTAssertEqual(json.status, 0, json.standardError)
    let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
    let ranked = try XCTUnwrap(report["ranked"] as? [[String: Any]])
    XCTAssertEqual(ranked.count, 3)
    let params = ranked.map { ($0["scores"] as? [String: Double])?["params"] ?? .nan }
    XCTAssertEqual(params, params.sorted(by: >), "best first: params is higher-is-better")
    XCTAssertEqual(report["ranked_by"] as? String, "params")
    let both = try Executables.run("diswot", common + ["--json", "--jsonl", "-"])
    XCTAssertEqual(both.status, 2, both.standardError)
  }

  func testJSONErrorsAreJSONOnStandardOutput() throws {
    let health = try Executables.run("diswot", ["health", "--json", "--daemon", "tcp://127.0.0.1:1", "--timeout-ms", "50"])
    XCTAssertEqual(health.status, 4, health.standardError)
    let error = try XCTUnwrap(
      (JSONSerialization.jsonObject(with: Data(health.standardOutput.utf8)) as? [String: Any])?["error"] as? [String: Any], health.standardOutput)
    XCTAssertEqual(error["code"] as? String, "unavailable")
    XCTAssertEqual(error["exit_code"] as? Int, 4)
    XCTAssertTrue((error["message"] as? String ?? "").contains("no reply from tcp://127.0.0.1:1"))
    for (arguments, code, name) in [
      (["eval", "--weights", "/nonexistent.safetensors", "--data", "cifar10:/tmp", "--json"], 3, "data_error"),
      (["score", "--json", "--bogus"], 2, "usage"),
    ] {
      let result = try Executables.run("diswot", arguments)
      XCTAssertEqual(result.status, Int32(code), result.standardError)
      let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any], "\(arguments)")
      XCTAssertEqual((document["error"] as? [String: Any])?["code"] as? String, name, "\(arguments)")
    }
    let plain = try Executables.run("diswot", ["health", "--daemon", "tcp://127.0.0.1:1", "--timeout-ms", "50"])
    XCTAssertEqual(plain.standardOutput, "", "no JSON without --json")
  }

  func testVersionWithoutADaemon() throws {
    let version = try Executables.run("diswot", ["--version"])
    XCTAssertEqual(version.status, 0, version.standardError)
    XCTAssertTrue(version.standardOutput.hasPrefix("diswot "), version.standardOutput)
    XCTAssertTrue(version.standardOutput.contains("protocol DISWOT1"), version.standardOutput)
    let bare = try Executables.run("diswot", [])
    XCTAssertEqual(bare.status, 2)
    XCTAssertTrue(bare.standardError.contains("needs a subcommand"), bare.standardError)
  }

  // MARK: item 6

  func testEveryBadValueExitsTwo() throws {
    let space = ["--space", "resnet-cifar-depth"]
    for arguments in [
      ["search", "--local", "--population", "1"] + space,
      ["search", "start", "--population", "1"] + space,
      ["search", "--local", "--max-params", "0"] + space,
      ["train", "--student", "resnet20", "--data", "cifar10:/tmp", "--out", "/tmp/unused", "--schedule", "bogus"],
      ["train", "start", "--student", "resnet20", "--data", "cifar10:/tmp", "--schedule", "bogus"],
      ["train", "--student", "resnet20", "--student-shortcut", "C", "--data", "cifar10:/tmp", "--out", "/tmp/unused"],
      ["train", "--student", "resnet20", "--data", "gaussian", "--out", "/tmp/unused"],
      ["score", "--sample", "2", "--init", "bogus"] + space,
      ["score", "--sample", "2", "--data", "bogus"] + space,
      ["score", "--sample", "2", "--teacher-shortcut", "C"] + space,
      ["quality", "--proxies", "bogus"] + space,
    ] {
      let result = try Executables.run("diswot", arguments)
      XCTAssertEqual(result.status, 2, "\(arguments): \(result.standardError)")
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/unused"))
  }

  func testUnwritableFilesArePlainSentences() throws {
    for (arguments, path) in [
      (["search", "--local", "--space", "resnet-cifar-depth", "--proxy", "params", "--budget", "2", "--jsonl", "/nonexistent-dir/x.jsonl"],
       "/nonexistent-dir/x.jsonl: no such file or directory"),
      (["score", "--space", "resnet-cifar-depth", "--sample", "1", "--proxies", "params", "--jsonl", "/dev/null/x"], "/dev/null/x: not a directory"),
      (["keygen", "--out", "/dev/null/keys", "--name", "k"], "cannot create /dev/null/keys: not a directory"),
    ] {
      let result = try Executables.run("diswot", arguments)
      XCTAssertEqual(result.status, 1, "\(arguments): \(result.standardError)")
      XCTAssertTrue(result.standardError.contains(path), result.standardError)
      XCTAssertFalse(result.standardError.contains("Domain") || result.standardError.contains("UserInfo"), result.standardError)
    }
  }

  func testTrainingIntoAnUnwritableDirectoryIsAPlainSentence() throws {
    let data = try SyntheticCIFAR.write(train: 32, test: 16)
    defer { try? FileManager.default.removeItem(at: data) }
    let result = try Executables.run("diswot", ["train", "--student", "resnet8", "--data", "cifar10:\(data.path)", "--epochs", "1", "--out", "/dev/null/run"])
    XCTAssertEqual(result.status, 1, result.standardError)
    XCTAssertTrue(result.standardError.contains("cannot write /dev/null/run: not a directory"), result.standardError)
  }

  // MARK: item 7

  func testDaemonCommandsCheckLocallyFirstAndSayTheyAreConnecting() throws {
    let nowhere = ["--daemon", "tcp://127.0.0.1:1", "--timeout-ms", "1000"]
    for (arguments, code, message) in [
      (["search", "start", "--space", "nonexistent"], 3, "no search space of that name"),
      (["search", "start", "--space", "resnet-cifar-depth", "--teacher-weights", "/nonexistent.safetensors"], 3, "teacher weights /nonexistent.safetensors does not exist"),
      (["search", "start", "--space", "resnet-cifar-depth", "--data", "cifar10:/nonexistent"], 3, "dataset directory /nonexistent does not exist"),
      (["search", "start", "--space", "resnet-cifar-depth", "--budget", "0"], 2, "--budget must be between"),
      (["train", "start", "--student", "resnet20", "--data", "cifar10:/nonexistent"], 3, "dataset directory /nonexistent does not exist"),
      (["train", "start", "--search", "s-1", "--data", "cifar10:/tmp", "--epochs", "0"], 2, "--epochs must be between"),
      (["teachers", "start", "--data", "cifar10:/tmp", "--candidates", "/nonexistent.safetensors"], 3, "candidate weights /nonexistent.safetensors does not exist"),
      (["teachers", "start", "--data", "cifar10:/tmp", "--candidates", "a.safetensors,a.safetensors"], 2, "/a.safetensors twice"),
      (["teachers", "start", "--data", "cifar10:/tmp", "--candidates", "a.safetensors", "--k", "0"], 2, "k must be an integer between 1 and 1000"),
    ] {
      let started = Date()
      let result = try Executables.run("diswot", arguments + nowhere)
      XCTAssertEqual(result.status, Int32(code), "\(arguments): \(result.standardError)")
      XCTAssertTrue(result.standardError.contains(message), result.standardError)
      XCTAssertFalse(result.standardError.contains("connecting to"), result.standardError)
      XCTAssertLessThan(Date().timeIntervalSince(started), 1, "\(arguments): no waiting for the daemon")
    }
    // A valid request does go out, and each retry says so.
    let result = try Executables.run("diswot", ["search", "start", "--space", "resnet-cifar-depth", "--daemon", "tcp://127.0.0.1:1", "--timeout-ms", "100"])
    XCTAssertEqual(result.status, 4, result.standardError)
    XCTAssertEqual(result.standardError.components(separatedBy: "connecting to tcp://127.0.0.1:1").count - 1, 2, result.standardError)
  }

  // MARK: item 14

  func testScoreTableSaysWhichWayIsBetterAndWhatTheColumnsAre() throws {
    let result = try Executables.run("diswot", [
      "score", "--space", "resnet-cifar-depth", "--sample", "2", "--proxies", "params,semantic", "--teacher", "resnet20", "--batch", "4",
    ])
    XCTAssertEqual(result.status, 0, result.standardError)
    let legend = result.standardOutput.split(separator: "\n").first.map(String.init) ?? ""
    XCTAssertTrue(legend.contains("Ranked by params, best first (higher is better; semantic: lower is better)"), legend)
    XCTAssertTrue(legend.contains("ms: milliseconds"), legend)
  }

  func testTrainingProgressLabelsItsNumbers() throws {
    let data = try SyntheticCIFAR.write(train: 64, test: 16)
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-progress-\(UUID())")
    defer {
      try? FileManager.default.removeItem(at: data)
      try? FileManager.default.removeItem(at: out)
    }
    let result = try Executables.run("diswot", [
      "train", "--student", "resnet8", "--data", "cifar10:\(data.path)", "--epochs", "2", "--batch", "16", "--out", out.path,
    ])
    XCTAssertEqual(result.status, 0, result.standardError)
    let line = result.standardError.split(separator: "\n").first { $0.hasPrefix("train: finished") }.map(String.init) ?? ""
    for label in ["finished 8/8 steps", "steps/s", "epoch 2/2 (step 4/4)", "loss ", "train accuracy ", "lr ", "images/s"] {
      XCTAssertTrue(line.contains(label), "'\(label)' in \(line)")
    }
  }
}
