import DiswotJSON
import Foundation

/// A search space read from `SearchSpaces/*.json` (format: Docs/search-spaces.md).
///
/// Generic over families: a space is a list of named choices, each a list of positions
/// with their own options; the family decides what the choices mean (stage depths, cell
/// edges, block kernels), which positions are active, how the architecture is written as
/// JSON and as a key, and how the network is built.
public struct SearchSpace: Sendable {
  /// One named decision of the space, e.g. `depths` with three positions (one per stage).
  public struct Choice: Sendable, Equatable {
    public let name: String
    /// options[p] lists what position p may take.
    public let options: [[JSONValue]]
  }

  /// Optional hard limits every architecture of the space must respect.
  public struct Limits: Sendable, Equatable {
    public var maxParams: Int?
    public var maxMACs: Int?
  }

  public let name: String
  public let summary: String
  public let family: ArchitectureFamily
  /// Input image channels, height, width.
  public let inputShape: [Int]
  public let classCount: Int
  public let choices: [Choice]
  public let limits: Limits

  /// Number of architectures (as Double: large spaces exceed Int when unconstrained).
  public var size: Double {
    family.size(of: self)
  }

  /// Reads and validates a search-space file.
  public static func load(path: String) throws(SearchSpaceError) -> SearchSpace {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw .invalidFile(source: path, field: "", reason: "cannot read the file")
    }
    return try parse(Array(data), source: path)
  }

  /// Parses and validates a search-space document.
  public static func parse(_ bytes: [UInt8], source: String) throws(SearchSpaceError) -> SearchSpace {
    guard let json = JSONValue.parse(bytes) else {
      throw .invalidFile(source: source, field: "", reason: "not valid JSON")
    }
    return try SearchSpaceReader(source: source).read(json)
  }

  /// Every channel count the last feature map of one of its architectures can have.
  public var featureChannelOptions: Set<Int> { family.featureChannelOptions(of: self) }

  /// The index of the choice called `name`.
  func choiceIndex(_ name: String) -> Int? { choices.firstIndex { $0.name == name } }
}
