import Foundation

/// Finds a search-space file from a path or a bare name such as `resnet-cifar-depth`.
///
/// A name is looked up, in order, in `$DISWOT_SEARCH_SPACES`, `./SearchSpaces` and the
/// `SearchSpaces` folder of the source tree the executable was built in (so a freshly
/// built `.build/release/diswot` finds the shipped spaces from any directory).
public enum SearchSpaceLocator {
  public static func resolve(_ nameOrPath: String, executablePath: String = CommandLine.arguments[0]) throws(SearchSpaceError) -> String {
    let fm = FileManager.default
    if nameOrPath.contains("/") || nameOrPath.hasSuffix(".json") {
      guard fm.fileExists(atPath: nameOrPath) else {
        throw .invalidFile(source: nameOrPath, field: "", reason: "no such file")
      }
      return nameOrPath
    }
    let candidates = directories(executablePath: executablePath).map { "\($0)/\(nameOrPath).json" }
    guard let found = candidates.first(where: fm.fileExists(atPath:)) else {
      throw .invalidFile(source: nameOrPath, field: "", reason: "no search space of that name in \(directories(executablePath: executablePath).joined(separator: ", "))")
    }
    return found
  }

  /// The folders searched for named spaces, in order.
  public static func directories(executablePath: String = CommandLine.arguments[0]) -> [String] {
    var result: [String] = []
    if let env = ProcessInfo.processInfo.environment["DISWOT_SEARCH_SPACES"], !env.isEmpty { result.append(env) }
    result.append(FileManager.default.currentDirectoryPath + "/SearchSpaces")
    // <root>/.build/<triple>/<config>/diswot → <root>/SearchSpaces
    var url = URL(fileURLWithPath: executablePath).resolvingSymlinksInPath().deletingLastPathComponent()
    for _ in 0..<4 {
      let candidate = url.appendingPathComponent("SearchSpaces").path
      if !result.contains(candidate) && FileManager.default.fileExists(atPath: candidate) { result.append(candidate) }
      url.deleteLastPathComponent()
    }
    return result
  }
}
