import DiswotData
import DiswotModels
import DiswotWire
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The directory every path in a request must resolve inside (`diswotd --data-root`):
/// datasets, weights, search-space files. Paths are resolved with `realpath` (symbolic
/// links and `..` followed), so a link pointing out of the root is refused like a plain
/// path outside it. Relative paths are taken relative to the root.
struct DataRoot {
  /// The canonical root.
  let path: String

  init(_ path: String) throws {
    guard let resolved = Self.realpath(path) else {
      throw WireError(.invalidArgument, "data root \(path) does not exist")
    }
    self.path = resolved
  }

  /// The canonical absolute form of `given`, which must exist inside the root.
  func resolve(_ given: String, what: String) throws(WireError) -> String {
    guard !given.isEmpty, given.utf8.count <= 4096, !given.utf8.contains(0) else {
      throw WireError(.invalidArgument, "\(what): not a usable path")
    }
    let absolute = given.hasPrefix("/") ? given : path + "/" + given
    guard let resolved = Self.realpath(absolute) else {
      throw WireError(.invalidArgument, "\(what) \(given) does not exist")
    }
    guard resolved == path || resolved.hasPrefix(path == "/" ? "/" : path + "/") else {
      throw WireError(.invalidArgument, "\(what) \(given) is outside the daemon's data root \(path)")
    }
    return resolved
  }

  /// A dataset spec with its directory resolved (`gaussian` unchanged).
  func resolveData(_ spec: String, what: String) throws(WireError) -> String {
    let parsed: DataSpec
    do { parsed = try DataSpec(parsing: spec) } catch { throw WireError(.invalidArgument, "\(what): \(error)") }
    switch parsed {
    case .gaussian: return "gaussian"
    case .cifar10(let d): return "cifar10:" + (try resolve(d, what: what))
    case .cifar100(let d): return "cifar100:" + (try resolve(d, what: what))
    case .mnist(let d): return "mnist:" + (try resolve(d, what: what))
    case .folder(let d): return "folder:" + (try resolve(d, what: what))
    }
  }

  /// A search space: a bare name is looked up among the shipped spaces (and kept as a
  /// name); a path must be inside the root (and becomes absolute).
  func resolveSpace(_ nameOrPath: String) throws(WireError) -> (spec: String, file: String) {
    if nameOrPath.contains("/") || nameOrPath.hasSuffix(".json") {
      let file = try resolve(nameOrPath, what: "search space")
      return (file, file)
    }
    guard nameOrPath.utf8.count <= 128 else { throw WireError(.invalidArgument, "search space name is too long") }
    do {
      return (nameOrPath, try SearchSpaceLocator.resolve(nameOrPath))
    } catch {
      throw WireError(.invalidArgument, "\(error)")
    }
  }

  /// A search space named in a request (`resolveSpace`), read: how model names that
  /// refer to a space are resolved.
  func loadSpace(_ nameOrPath: String) throws -> SearchSpace {
    try SearchSpace.load(path: resolveSpace(nameOrPath).file)
  }

  static func realpath(_ path: String) -> String? {
    #if canImport(Glibc)
    let pointer = Glibc.realpath(path, nil)
    #else
    let pointer = Darwin.realpath(path, nil)
    #endif
    guard let pointer else { return nil }
    defer { free(pointer) }
    return String(cString: pointer)
  }
}
