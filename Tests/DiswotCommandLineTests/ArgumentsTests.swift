import XCTest

@testable import DiswotCommandLine

/// A small tree shaped like the real `diswot` command.
let root = CommandSpec(
  "diswot", abstract: "Distillation-aware architecture search.",
  options: [.quiet, .verbose, .json],
  subcommands: [
    CommandSpec(
      "rank", abstract: "Rank candidate architectures.", positionals: "<candidates>...",
      options: [
        .value("batch", short: "b", valueName: "n", default: "64", help: "Images per batch."),
        .value("lr", valueName: "rate", help: "Learning rate."),
        .value("weights", valueName: "path", help: "Teacher weights."),
        .value("proxies", valueName: "list", help: "Comma-separated proxies."),
        .repeatable("exclude", valueName: "name", help: "Skip a candidate."),
        .value("format", help: "Output format."),
        .json,
      ]),
    CommandSpec(
      "search", abstract: "Run and manage searches.",
      subcommands: [
        CommandSpec("start", abstract: "Start a search.", options: [
          .value("space", valueName: "name", help: "Search space."),
        ]),
        CommandSpec("status", abstract: "Show a search.", positionals: "<id>"),
      ]),
  ])

enum Format: String, CaseIterable { case text, csv }

final class ArgumentsTests: XCTestCase {
  func parseError(_ arguments: [String]) -> CommandLineError? {
    do {
      _ = try root.parse(arguments)
      return nil
    } catch {
      return error as? CommandLineError
    }
  }

  func testFlagsValuesAndPositionals() throws {
    let args = try root.parse(["rank", "--json", "-b", "32", "--lr=0.05", "a", "-", "b"])
    XCTAssertEqual(args.subcommandPath, ["rank"])
    XCTAssertEqual(args.commandPath, ["diswot", "rank"])
    XCTAssertTrue(args.flag("json"))
    XCTAssertFalse(args.flag("verbose"))
    XCTAssertEqual(try args.int("batch", default: 64), 32)
    XCTAssertEqual(try args.double("lr"), 0.05)
    XCTAssertEqual(args.positionals, ["a", "-", "b"])
    XCTAssertNil(args.string("weights"))
    XCTAssertTrue(args.isSet("lr"))
    XCTAssertFalse(args.isSet("weights"))
  }

  func testDefaultsAndLastValueWins() throws {
    let args = try root.parse(["rank", "--lr", "-0.5", "--lr", "0.25"])
    XCTAssertEqual(try args.int("batch"), 64, "declared default")
    XCTAssertEqual(try args.int("batch", default: 64), 64)
    XCTAssertEqual(try args.double("lr"), 0.25)
    XCTAssertEqual(args.string("format", default: "text"), "text")
    XCTAssertEqual(args.strings("batch"), ["64"])
  }

  func testNegativeNumberIsAValue() throws {
    XCTAssertEqual(try root.parse(["rank", "--lr", "-1e-3"]).double("lr"), -0.001)
  }

  func testRangesAndMalformedNumbers() throws {
    let zero = try root.parse(["rank", "--batch", "0"])
    XCTAssertThrowsError(try zero.int("batch", default: 64, range: 1...4096)) { error in
      XCTAssertEqual((error as? CommandLineError)?.message, "--batch must be between 1 and 4096, got 0")
      XCTAssertEqual((error as? CommandLineError)?.exitCode, .usage)
    }
    let word = try root.parse(["rank", "--batch", "many", "--lr", "nan"])
    XCTAssertThrowsError(try word.int("batch")) { error in
      XCTAssertEqual((error as? CommandLineError)?.message, "--batch expects an integer, got 'many'")
    }
    XCTAssertThrowsError(try word.double("lr"), "NaN is not a usable number")
    let lr = try root.parse(["rank", "--lr", "2"])
    XCTAssertThrowsError(try lr.double("lr", range: 0...1)) { error in
      XCTAssertEqual((error as? CommandLineError)?.message, "--lr must be between 0.0 and 1.0, got 2")
    }
  }

  func testRequire() throws {
    let args = try root.parse(["rank"])
    XCTAssertThrowsError(try args.require("weights")) { error in
      let error = error as? CommandLineError
      XCTAssertEqual(error?.message, "missing --weights")
      XCTAssertEqual(error?.hint, "See 'diswot rank --help'.")
    }
    XCTAssertEqual(try root.parse(["rank", "--weights", "t.safetensors"]).require("weights"), "t.safetensors")
  }

  func testListsAndRepeatables() throws {
    let args = try root.parse([
      "rank", "--proxies", "dist, snip,,grasp", "--exclude", "r20", "--exclude=r56",
    ])
    XCTAssertEqual(args.list("proxies"), ["dist", "snip", "grasp"])
    XCTAssertEqual(args.strings("exclude"), ["r20", "r56"])
    XCTAssertEqual(args.list("exclude"), ["r20", "r56"])
    XCTAssertEqual(try root.parse(["rank"]).strings("exclude"), [])
  }

  func testChoice() throws {
    XCTAssertEqual(try root.parse(["rank", "--format", "csv"]).choice("format", as: Format.self), .csv)
    XCTAssertNil(try root.parse(["rank"]).choice("format", as: Format.self))
    XCTAssertThrowsError(try root.parse(["rank", "--format", "xml"]).choice("format", as: Format.self)) {
      XCTAssertEqual(($0 as? CommandLineError)?.message, "--format must be one of text, csv; got 'xml'")
    }
  }

  func testUnknownOptionSuggestsClosest() {
    let error = parseError(["rank", "--bach", "3"])
    XCTAssertEqual(error?.message, "unknown option '--bach'; did you mean '--batch'?")
    XCTAssertEqual(error?.exitCode, .usage)
    XCTAssertEqual(parseError(["rank", "--wieghts=x"])?.message,
                   "unknown option '--wieghts'; did you mean '--weights'?")
    XCTAssertEqual(parseError(["rank", "--zzzzzzzz"])?.message, "unknown option '--zzzzzzzz'")
    XCTAssertEqual(parseError(["rank", "-x"])?.message, "unknown option '-x'")
  }

  func testMissingValueAndFlagWithValue() {
    XCTAssertEqual(parseError(["rank", "--batch"])?.message, "missing value for --batch <n>")
    XCTAssertEqual(parseError(["rank", "--batch", "--json"])?.message, "missing value for --batch <n>")
    XCTAssertEqual(parseError(["rank", "--json=yes"])?.message, "--json does not take a value")
  }

  func testDoubleDashEndsOptions() throws {
    let args = try root.parse(["rank", "--", "--json", "-h"])
    XCTAssertEqual(args.positionals, ["--json", "-h"])
    XCTAssertFalse(args.flag("json"))
  }

  func testSubcommandResolution() throws {
    let start = try root.parse(["search", "start", "--space", "resnet"])
    XCTAssertEqual(start.subcommandPath, ["search", "start"])
    XCTAssertEqual(start.string("space"), "resnet")
    // Global options of the root work before and after the subcommand names.
    XCTAssertTrue(try root.parse(["-q", "search", "start"]).flag("quiet"))
    XCTAssertTrue(try root.parse(["search", "start", "-q"]).flag("quiet"))
    // Its other options are its own: not accepted by a subcommand, before or after its name.
    XCTAssertEqual(parseError(["search", "start", "--json"])?.message, "unknown option '--json'")
    XCTAssertEqual(parseError(["--json", "search", "start"])?.message,
                   "--json is an option of 'diswot', not of 'diswot search'")
    XCTAssertEqual(try root.parse(["search", "status", "s-1"]).positionals, ["s-1"])
    XCTAssertEqual(parseError(["search", "strat"])?.message,
                   "unknown subcommand 'strat'; did you mean 'start'?")
    XCTAssertEqual(parseError(["search"])?.message,
                   "'diswot search' needs a subcommand: start, status")
    XCTAssertEqual(parseError(["search", "start", "extra"])?.message, "unexpected argument 'extra'")
    // Options of a subcommand are not known above it.
    XCTAssertEqual(parseError(["--space", "x", "search", "start"])?.message, "unknown option '--space'")
    XCTAssertEqual(parseError([])?.message, "'diswot' needs a subcommand: rank, search")
  }

  func testHelpAnywhereResolvesDeepestCommand() throws {
    for arguments in [["search", "start", "--help"], ["search", "-h", "start"],
                      ["search", "start", "--bogus", "-h"]] {
      XCTAssertThrowsError(try root.parse(arguments)) { error in
        let help = error as? HelpRequest
        XCTAssertEqual(help?.exitCode, .success)
        XCTAssertTrue(help?.text.contains("USAGE: diswot search start [<options>]") ?? false,
                      "\(arguments)")
      }
    }
  }

  func testHelpTextListsOptionsDefaultsAndSubcommands() {
    let rank = root.helpText(subcommand: ["rank"])
    XCTAssertTrue(rank.hasPrefix("OVERVIEW: Rank candidate architectures.\n"))
    XCTAssertTrue(rank.contains("USAGE: diswot rank [<options>] <candidates>..."))
    for needle in ["-b, --batch <n>", "(default: 64)", "--lr <rate>", "--weights <path>",
                   "--exclude <name> ...", "-q, --quiet", "--json", "-h, --help"] {
      XCTAssertTrue(rank.contains(needle), "missing \(needle) in\n\(rank)")
    }
    // Help column is aligned: every option's help starts at the same column.
    let helps = ["Images per batch.", "Learning rate.", "Print only warnings and errors.",
                 "Print the result as JSON", "Show help information."]
    let columns = Set(helps.map { help in
      rank.split(separator: "\n").compactMap { line in
        line.range(of: help).map { line.distance(from: line.startIndex, to: $0.lowerBound) }
      }.first ?? -1
    })
    XCTAssertEqual(columns.count, 1, rank)

    // A subcommand's help lists its own options and the global ones, nothing else.
    let start = root.helpText(subcommand: ["search", "start"])
    XCTAssertTrue(start.contains("--space <name>") && start.contains("-q, --quiet") && start.contains("-v, --verbose"), start)
    XCTAssertFalse(start.contains("--json"), start)

    let search = root.helpText(subcommand: ["search"])
    XCTAssertTrue(search.contains("USAGE: diswot search [<options>] <subcommand>"))
    XCTAssertTrue(search.contains("SUBCOMMANDS:\n  start   Start a search.\n  status  Show a search."))
    XCTAssertFalse(search.split(separator: "\n").contains { $0.hasSuffix(" ") })
  }

  func testEditDistance() {
    XCTAssertEqual(Suggestion.distance("kitten", "sitting"), 3)
    XCTAssertEqual(Suggestion.distance("", "abc"), 3)
    XCTAssertEqual(Suggestion.distance("abc", ""), 3)
    XCTAssertEqual(Suggestion.distance("modle", "model"), 1)
    XCTAssertEqual(Suggestion.closest(to: "stauts", in: ["start", "status"]), "status")
  }
}
