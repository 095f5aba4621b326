// Every command logs through DiswotLog; importing the command line brings it along.
@_exported import DiswotLog

extension Log {
  /// Sets the level from the parsed `quiet` / `verbose` flags, where the command declares them.
  public static func configure(from arguments: ParsedArguments) {
    func has(_ name: String) -> Bool { arguments.options[name] != nil && arguments.flag(name) }
    configure(quiet: has("quiet"), verbose: has("verbose"))
  }
}
