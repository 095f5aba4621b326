import Foundation

/// One option a command accepts, as the parser and the help text see it.
public struct OptionSpec: Sendable, Equatable {
  /// How an option consumes arguments.
  public enum Kind: Sendable, Equatable {
    /// Present or absent, no value (`--json`).
    case flag
    /// One value (`--batch 64` or `--batch=64`); given twice, the last one wins so a
    /// script can override an earlier setting.
    case value
    /// One value per occurrence, any number of occurrences (`--exclude a --exclude b`).
    case repeatable
  }

  /// The name after `--`, also the key every accessor uses.
  public var long: String
  /// Optional one-letter alias used after `-`; `h` is reserved for help.
  public var short: Character?
  public var kind: Kind
  /// Placeholder for the value in help ("n" → `--batch <n>`).
  public var valueName: String
  /// One line for the help table.
  public var help: String
  /// The default shown in help; accessors also fall back to it when the option is absent.
  public var defaultValue: String?
  /// Whether the subcommands of the command declaring it accept it too. Only options
  /// every command honours are global (`--quiet`, `--verbose`): an option inherited by a
  /// subcommand that ignores it would be listed in its help and accepted silently.
  public var isGlobal: Bool

  public init(
    long: String, short: Character? = nil, kind: Kind, valueName: String = "value",
    help: String, defaultValue: String? = nil, isGlobal: Bool = false
  ) {
    self.long = long
    self.short = short
    self.kind = kind
    self.valueName = valueName
    self.help = help
    self.defaultValue = defaultValue
    self.isGlobal = isGlobal
  }

  /// A flag: `--json`.
  public static func flag(_ long: String, short: Character? = nil, help: String) -> Self {
    Self(long: long, short: short, kind: .flag, help: help)
  }
  /// An option with one value: `--batch <n>`.
  public static func value(
    _ long: String, short: Character? = nil, valueName: String = "value",
    default defaultValue: String? = nil, help: String
  ) -> Self {
    Self(long: long, short: short, kind: .value, valueName: valueName, help: help,
         defaultValue: defaultValue)
  }
  /// An option that may be given many times: `--exclude <path> ...`.
  public static func repeatable(
    _ long: String, short: Character? = nil, valueName: String = "value", help: String
  ) -> Self {
    Self(long: long, short: short, kind: .repeatable, valueName: valueName, help: help)
  }

  /// `--json` for machine-readable output.
  public static let json = flag("json", help: "Print the result as JSON on standard output.")
  /// `--quiet`: only warnings and errors on standard error, no progress (global).
  public static let quiet = Self(
    long: "quiet", short: "q", kind: .flag, help: "Print only warnings and errors.", isGlobal: true)
  /// `--verbose`: debug messages on standard error (global).
  public static let verbose = Self(
    long: "verbose", short: "v", kind: .flag, help: "Print debug messages.", isGlobal: true)

  /// `options` without the ones named: a subcommand that shares a list except a few.
  public static func except(_ names: Set<String>, from options: [OptionSpec]) -> [OptionSpec] {
    precondition(names.isSubset(of: options.map(\.long)), "excluding options the list does not have")
    return options.filter { !names.contains($0.long) }
  }
}

/// A command: its help texts, its options and its subcommands.
///
/// A command accepts its own options and the global ones of its ancestors (`isGlobal`), so
/// `--verbose` declared on the root works in `diswot search start --verbose` and in
/// `diswot --verbose search start`, while an option of `search` is unknown to `search status`.
public struct CommandSpec: Sendable {
  public var name: String
  /// One line: the help's overview and the subcommand list entry.
  public var abstract: String
  /// Longer help text, paragraphs separated by blank lines; wrapped to 80 columns.
  public var discussion: String
  /// Usage text of positional arguments ("<weights> [<image>...]"); nil rejects positionals.
  public var positionals: String?
  public var options: [OptionSpec]
  public var subcommands: [CommandSpec]
  /// Whether the command does something without a subcommand; false makes
  /// `diswot search` a usage error listing the subcommands.
  public var isRunnable: Bool

  /// Creates a command; `runnable` defaults to "has no subcommands".
  public init(
    _ name: String, abstract: String, discussion: String = "", positionals: String? = nil,
    options: [OptionSpec] = [], subcommands: [CommandSpec] = [], runnable: Bool? = nil
  ) {
    self.name = name
    self.abstract = abstract
    self.discussion = discussion
    self.positionals = positionals
    self.options = options
    self.subcommands = subcommands
    self.isRunnable = runnable ?? subcommands.isEmpty
  }

  /// Parses arguments (without argv[0]) against this command and its subcommands.
  ///
  /// Throws `HelpRequest` when `--help`/`-h` appears before `--` (help of the deepest
  /// subcommand named, even if other arguments are wrong), `CommandLineError.usage`
  /// for anything malformed.
  public func parse(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) throws
    -> ParsedArguments
  {
    var parser = Parser(chain: [self])
    let wantsHelp = arguments.prefix { $0 != "--" }.contains { $0 == "--help" || $0 == "-h" }
    do {
      try parser.run(arguments)
    } catch {
      if !wantsHelp { throw error }  // With --help, errors only stop the descent.
    }
    if wantsHelp { throw HelpRequest(text: Help.text(for: parser.chain)) }
    return parser.result()
  }

  /// The help text of the subcommand at `path` (names below this command).
  public func helpText(subcommand path: [String] = []) -> String {
    var chain = [self]
    for name in path {
      guard let next = chain.last!.subcommands.first(where: { $0.name == name }) else { break }
      chain.append(next)
    }
    return Help.text(for: chain)
  }
}

/// The result of parsing: which command was named and typed access to its arguments.
///
/// Accessors take an option's long name; asking for an option the command never declared
/// is a programming error and traps, so a typo cannot silently read as "absent".
public struct ParsedArguments: Sendable {
  /// Command names from the root: ["diswot", "search", "start"].
  public let commandPath: [String]
  /// Arguments that are not options, in order.
  public let positionals: [String]
  let options: [String: OptionSpec]
  let values: [String: [String]]

  /// Subcommand names below the root: ["search", "start"]; switch on it to dispatch.
  public var subcommandPath: [String] { Array(commandPath.dropFirst()) }

  /// Whether the option appeared on the command line.
  public func isSet(_ name: String) -> Bool { declared(name); return values[name] != nil }

  /// Whether the flag was given.
  public func flag(_ name: String) -> Bool {
    precondition(declared(name).kind == .flag, "--\(name) is not a flag")
    return values[name] != nil
  }

  /// The value given (the last one if given twice), else the declared default, else nil.
  public func string(_ name: String) -> String? {
    values[name]?.last ?? declared(name).defaultValue
  }

  /// Like `string(_:)`, with a fallback for options that declare no default.
  public func string(_ name: String, default fallback: String) -> String {
    string(name) ?? fallback
  }

  /// The value of an option the command cannot run without; "missing --name" otherwise.
  public func require(_ name: String) throws -> String {
    guard let value = string(name) else { throw usageError("missing --\(name)") }
    return value
  }

  /// An integer value, nil if absent; errors if it is not an integer or outside `range`.
  public func int(_ name: String, range: ClosedRange<Int>? = nil) throws -> Int? {
    try number(name, range: range, kind: "an integer") { Int($0) }
  }

  /// An integer value with a fallback used when the option is absent and has no
  /// declared default.
  public func int(_ name: String, default fallback: Int, range: ClosedRange<Int>? = nil) throws
    -> Int
  {
    checkDefault(name, fallback) { Int($0) }
    return try int(name, range: range) ?? fallback
  }

  /// A finite floating-point value, nil if absent; errors if malformed or outside `range`.
  public func double(_ name: String, range: ClosedRange<Double>? = nil) throws -> Double? {
    try number(name, range: range, kind: "a number") { Double($0).flatMap { $0.isFinite ? $0 : nil } }
  }

  /// A floating-point value with a fallback (see `int(_:default:range:)`).
  public func double(_ name: String, default fallback: Double, range: ClosedRange<Double>? = nil)
    throws -> Double
  {
    checkDefault(name, fallback) { Double($0) }
    return try double(name, range: range) ?? fallback
  }

  /// Comma-separated values of every occurrence, trimmed, empty items dropped:
  /// `--proxies a,b --proxies c` → ["a", "b", "c"].
  public func list(_ name: String) -> [String] {
    strings(name).flatMap { $0.split(separator: ",") }
      .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
  }

  /// Every value given, in order (the declared default alone if none was given).
  public func strings(_ name: String) -> [String] {
    values[name] ?? declared(name).defaultValue.map { [$0] } ?? []
  }

  /// A value that must be one of an enumeration's raw values.
  public func choice<T: RawRepresentable & CaseIterable>(_ name: String, as type: T.Type) throws
    -> T? where T.RawValue == String
  {
    guard let raw = string(name) else { return nil }
    guard let value = T(rawValue: raw) else {
      let names = T.allCases.map(\.rawValue).joined(separator: ", ")
      throw usageError("--\(name) must be one of \(names); got '\(raw)'")
    }
    return value
  }

  /// A usage error whose hint points at this command's help.
  public func usageError(_ message: String) -> CommandLineError {
    .usage(message, hint: Help.hint(commandPath))
  }

  @discardableResult
  private func declared(_ name: String) -> OptionSpec {
    guard let spec = options[name] else {
      preconditionFailure("--\(name) is not declared by '\(commandPath.joined(separator: " "))'")
    }
    return spec
  }

  private func number<T: Comparable>(
    _ name: String, range: ClosedRange<T>?, kind: String, _ convert: (String) -> T?
  ) throws -> T? {
    guard let raw = string(name) else { return nil }
    guard let value = convert(raw.trimmingCharacters(in: .whitespaces)) else {
      throw usageError("--\(name) expects \(kind), got '\(raw)'")
    }
    if let range, !range.contains(value) {
      throw usageError(
        "--\(name) must be between \(range.lowerBound) and \(range.upperBound), got \(raw)")
    }
    return value
  }

  /// A declared default and an accessor fallback must agree, or help would lie.
  private func checkDefault<T: Equatable>(_ name: String, _ fallback: T, _ convert: (String) -> T?) {
    if let shown = declared(name).defaultValue {
      assert(convert(shown) == fallback, "--\(name): help shows \(shown), code uses \(fallback)")
    }
  }
}

/// The single pass over the arguments: descends into subcommands while words name them,
/// collects option values and positionals.
private struct Parser {
  var chain: [CommandSpec]
  var values: [String: [String]] = [:]
  var positionals: [String] = []

  /// Options visible at the current depth: the command's own and its ancestors' global
  /// ones (a subcommand's own options shadow them).
  var visible: [String: OptionSpec] {
    var result: [String: OptionSpec] = [:]
    for spec in chain.dropLast() { for option in spec.options where option.isGlobal { result[option.long] = option } }
    for option in chain.last!.options { result[option.long] = option }
    return result
  }

  func result() -> ParsedArguments {
    ParsedArguments(
      commandPath: chain.map(\.name), positionals: positionals, options: visible, values: values)
  }

  func usage(_ message: String) -> CommandLineError {
    .usage(message, hint: Help.hint(chain.map(\.name)))
  }

  mutating func run(_ arguments: [String]) throws {
    var index = 0
    var optionsEnded = false
    while index < arguments.count {
      let argument = arguments[index]
      index += 1
      if optionsEnded || !Self.looksLikeOption(argument) {
        try positional(argument)
        continue
      }
      if argument == "--" { optionsEnded = true; continue }
      if argument == "--help" || argument == "-h" { continue }
      let (option, inline) = try lookup(argument)
      switch option.kind {
      case .flag:
        if inline != nil { throw usage("--\(option.long) does not take a value") }
        values[option.long, default: []].append("")
      case .value, .repeatable:
        let value: String
        if let inline {
          value = inline
        } else if index < arguments.count, !Self.looksLikeOption(arguments[index]) {
          value = arguments[index]
          index += 1
        } else {
          throw usage("missing value for --\(option.long) <\(option.valueName)>")
        }
        values[option.long, default: []].append(value)
      }
    }
    let command = chain.last!
    if !command.isRunnable {
      let names = command.subcommands.map(\.name).joined(separator: ", ")
      throw usage("'\(chain.map(\.name).joined(separator: " "))' needs a subcommand: \(names)")
    }
  }

  /// "-" (standard input) and negative numbers are values, not options.
  static func looksLikeOption(_ argument: String) -> Bool {
    argument.hasPrefix("-") && argument != "-" && Double(argument) == nil
  }

  mutating func positional(_ argument: String) throws {
    let command = chain.last!
    if positionals.isEmpty, !command.subcommands.isEmpty {
      if let next = command.subcommands.first(where: { $0.name == argument }) {
        chain.append(next)
        // An option of the command above that is not global means nothing here.
        if let stray = values.keys.sorted().first(where: { visible[$0] == nil }) {
          throw usage("--\(stray) is an option of '\(chain.dropLast().map(\.name).joined(separator: " "))', not of '\(chain.map(\.name).joined(separator: " "))'")
        }
        return
      }
      if command.positionals == nil {
        let names = command.subcommands.map(\.name)
        var message = "unknown subcommand '\(argument)'"
        if let near = Suggestion.closest(to: argument, in: names) {
          message += "; did you mean '\(near)'?"
        } else {
          message += "; expected one of \(names.joined(separator: ", "))"
        }
        throw usage(message)
      }
    }
    if command.positionals == nil { throw usage("unexpected argument '\(argument)'") }
    positionals.append(argument)
  }

  func lookup(_ argument: String) throws -> (OptionSpec, inline: String?) {
    let options = visible
    var name: Substring
    var inline: String?
    if argument.hasPrefix("--") {
      name = argument.dropFirst(2)
      if let equals = name.firstIndex(of: "=") {
        inline = String(name[name.index(after: equals)...])
        name = name[..<equals]
      }
      if let option = options[String(name)] { return (option, inline) }
    } else {
      name = argument.dropFirst()
      if name.count == 1, let option = options.values.first(where: { $0.short == name.first }) {
        return (option, nil)
      }
    }
    var message = "unknown option '\(argument.split(separator: "=").first.map(String.init) ?? argument)'"
    if argument.hasPrefix("--"),
      let near = Suggestion.closest(to: String(name), in: Array(options.keys) + ["help"])
    {
      message += "; did you mean '--\(near)'?"
    }
    throw usage(message)
  }
}

/// "Did you mean" for mistyped names.
enum Suggestion {
  /// The candidate nearest `word` by edit distance, if near enough to be a plausible typo
  /// (at most 2 edits, or a third of the word for long names); ties go to the first.
  static func closest(to word: String, in candidates: [String]) -> String? {
    let limit = max(2, word.count / 3)
    let scored = candidates.sorted().map { ($0, distance(word, $0)) }
    guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= limit else { return nil }
    return best.0
  }

  /// Edit distance counting insertions, deletions, substitutions and swaps of adjacent
  /// characters as one edit each (optimal string alignment), since swaps are common typos.
  static func distance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    guard !a.isEmpty else { return b.count }
    var before = [Int](), previous = Array(0...b.count)
    for i in 1...a.count {
      var current = [i] + Array(repeating: 0, count: b.count)
      for j in stride(from: 1, through: b.count, by: 1) {
        current[j] = min(
          previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
          current[j] = min(current[j], before[j - 2] + 1)
        }
      }
      (before, previous) = (previous, current)
    }
    return previous[b.count]
  }
}
