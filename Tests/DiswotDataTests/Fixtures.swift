import Foundation
import XCTest

/// Hand-made dataset files with known bytes, written to a per-test temporary directory.
enum Fixtures {
  /// A CIFAR record: `labels` then 3,072 pixel bytes following a pattern seeded by `seed`,
  /// so that every image and every position holds a different, predictable byte.
  static func cifarRecord(labels: [UInt8], seed: Int) -> [UInt8] {
    labels + (0..<3072).map { UInt8(truncatingIfNeeded: seed * 31 + $0 * 7) }
  }

  /// The floats a reader must produce for `records`: pixel bytes / 255 in file order.
  static func expectedPixels(_ records: [[UInt8]], labelBytes: Int) -> [Float] {
    records.flatMap { $0.dropFirst(labelBytes).map { Float($0) / 255 } }
  }

  /// An unsigned-byte IDX file.
  static func idx(magic: UInt32, dimensions: [UInt32], data: [UInt8]) -> [UInt8] {
    ([magic] + dimensions).flatMap { word in withUnsafeBytes(of: word.bigEndian) { Array($0) } }
      + data
  }
}

extension XCTestCase {
  /// A fresh directory removed when the test ends.
  func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
      "diswot-data-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
  }

  func write(_ bytes: [UInt8], to directory: URL, _ name: String) throws {
    try Data(bytes).write(to: directory.appendingPathComponent(name))
  }
}
