/// Errors in a search-space file or in an architecture claimed to belong to a space.
public enum SearchSpaceError: Error, Equatable, CustomStringConvertible {
  /// The file is unreadable or a field is missing or wrong; names the file and field path.
  case invalidFile(source: String, field: String, reason: String)
  /// An architecture that is not a member of the space; says which choice is wrong.
  case invalidArchitecture(space: String, reason: String)
  /// The space is too large for the operation (e.g. enumerating 10¹² architectures).
  case tooLarge(space: String, reason: String)
  /// The architecture is a member but cannot be built (limits, model errors).
  case model(space: String, ModelError)

  public var description: String {
    switch self {
    case .invalidFile(let source, let field, let reason):
      return field.isEmpty ? "search space \(source): \(reason)" : "search space \(source): field '\(field)': \(reason)"
    case .invalidArchitecture(let space, let reason):
      return "not an architecture of search space '\(space)': \(reason)"
    case .tooLarge(let space, let reason):
      return "search space '\(space)' is too large: \(reason)"
    case .model(let space, let error):
      return "search space '\(space)': \(error)"
    }
  }
}
