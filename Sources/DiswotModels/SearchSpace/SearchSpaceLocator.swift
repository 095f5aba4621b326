import DiswotJSON
import DiswotTensor
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

extension ModelZoo {
  /// Builds the network a weights file describes and loads it: a student trained from a
  /// search space carries `space` and `genotype` in its metadata (rebuilt from that space);
  /// anything else is read as a CIFAR ResNet (`load(_:name:)`). A `genotype` that is not
  /// JSON is read as a key: NAS-Bench-201 students written before the space's entries took
  /// precedence over the network's own hold their bare cell string there.
  public static func loadAny(_ file: SafetensorsFile, name: String? = nil) throws -> any Classifier {
    guard let spaceName = file.metadata["space"], let archText = file.metadata["genotype"] else {
      return try load(file, name: name)
    }
    let space = try SearchSpace.load(path: SearchSpaceLocator.resolve(spaceName))
    let g = try JSONValue.parse(archText).map { try space.genotype(fromJSON: $0) } ?? space.genotype(fromKey: archText)
    let classes = try classCount(in: file)
    // The metadata may name any architecture of the space: the file must hold as many
    // values as it has before it is allocated.
    let footprint = try space.footprint(of: g, classCount: classes)
    let expected = footprint.stateFloats - footprint.batchNorms  // counters are optional
    let given = file.tensors.filter { !$0.key.hasSuffix("num_batches_tracked") }.values.reduce(0) { $0 + $1.count }
    guard given == expected else {
      throw ModelError.stateMismatch("the file holds \(given) values, the architecture of its metadata (\(space.key(of: g))) has \(expected)")
    }
    let model = try space.build(g, classCount: classes)
    try model.loadState(file.tensors)
    return model
  }
}
