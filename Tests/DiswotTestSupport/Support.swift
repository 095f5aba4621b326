import Foundation
import XCTest

/// The read-only real data (CIFAR-10 subset, teacher checkpoints) that developers and CI
/// have at `../shared` beside the package root. The product never needs it, so tests
/// that use it skip when it is absent, e.g. on a user's machine.
public enum SharedData {
  /// The package root, found from this source file's location (Tests/DiswotTestSupport/).
  private static let packageRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// `../shared`, or nil when that folder is absent.
  public static var root: URL? {
    let url = packageRoot.deletingLastPathComponent().appendingPathComponent("shared")
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory),
      isDirectory.boolValue
    else { return nil }
    return url.standardizedFileURL
  }

  /// The file `relative` to `../shared`. Throws `XCTSkip` when `../shared` is absent; when
  /// the folder exists but lacks the file the test fails instead, so that a mistyped path
  /// cannot silently turn a test into a skip.
  public static func require(_ relative: String) throws -> URL {
    guard let root else {
      throw XCTSkip("../shared is absent; skipping a test that needs \(relative)")
    }
    let url = root.appendingPathComponent(relative)
    guard FileManager.default.fileExists(atPath: url.path) else {
      throw SharedDataMissing(path: url.path)
    }
    return url
  }
}

/// `../shared` exists but lacks a file a test names.
public struct SharedDataMissing: Error, CustomStringConvertible {
  public let path: String
  public var description: String { "\(path) is missing from ../shared" }
}

/// Where the shipped search spaces are, from this file's location.
public enum SearchSpaces {
  public static func path(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("SearchSpaces/\(name).json").path
  }
}

/// A fresh directory removed when `test` ends (from a test or from its set-up).
public func scratchDirectory(_ test: XCTestCase) throws -> URL {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-test-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
  return url
}
