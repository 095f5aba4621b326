import DiswotFiles
import Foundation
import XCTest

/// Whole-file reads and crash-safe replacement on a real file system.
final class DurableFileTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-files-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: directory)
  }

  private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

  private func leftovers() throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".tmp-") }
  }

  /// Empty, small and multi-chunk (reads go 64 KiB at a time) contents come back as written,
  /// and a second write replaces the first whole.
  func testWritesAndReadsBackEveryByte() throws {
    let file = path("data.bin")
    for count in [0, 1, 65_536, 200_001] {
      let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
      try DurableFile.writeAtomically(path: file, bytes: bytes)
      XCTAssertEqual(try DurableFile.readAll(path: file), bytes, "\(count) bytes")
    }
    try DurableFile.writeAtomically(path: file, bytes: [1, 2, 3])
    XCTAssertEqual(try DurableFile.readAll(path: file), [1, 2, 3], "a shorter file replaces a longer one whole")
    XCTAssertEqual(try leftovers(), [], "no temporary file is left behind")
  }

  func testReadingAMissingFileSaysSo() throws {
    let missing = path("nothing-here")
    XCTAssertThrowsError(try DurableFile.readAll(path: missing)) { error in
      let error = error as! DurableFileError
      XCTAssertTrue(error.isMissing)
      XCTAssertTrue(error.reason.contains(missing), error.reason)
      XCTAssertTrue(error.reason.contains("No such file"), error.reason)
    }
  }

  /// A replacement that cannot happen (the target is a non-empty directory, so the final
  /// rename fails; or the parent is not a directory) leaves what was there untouched and
  /// no temporary file, and says why in plain words.
  func testAFailedReplacementChangesNothing() throws {
    let occupied = path("occupied")
    try FileManager.default.createDirectory(atPath: occupied, withIntermediateDirectories: false)
    try DurableFile.writeAtomically(path: occupied + "/inside", bytes: [9])
    XCTAssertThrowsError(try DurableFile.writeAtomically(path: occupied, bytes: [1, 2])) { error in
      let error = error as! DurableFileError
      XCTAssertFalse(error.isMissing)
      XCTAssertTrue(error.reason.hasPrefix("cannot rename"), error.reason)
    }
    XCTAssertEqual(try DurableFile.readAll(path: occupied + "/inside"), [9])
    XCTAssertEqual(try leftovers(), [])

    let notADirectory = path("plain")
    try DurableFile.writeAtomically(path: notADirectory, bytes: [5])
    XCTAssertThrowsError(try DurableFile.writeAtomically(path: notADirectory + "/child", bytes: [1])) { error in
      XCTAssertTrue((error as! DurableFileError).reason.hasPrefix("cannot create"), "\(error)")
    }
    XCTAssertEqual(try DurableFile.readAll(path: notADirectory), [5])
  }

  /// `writeAll` writes every byte through a descriptor, as appends to logs use it.
  func testWriteAllAppendsEveryByte() throws {
    let file = path("log")
    let descriptor = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    XCTAssertGreaterThanOrEqual(descriptor, 0)
    try DurableFile.writeAll(descriptor, Array("one\n".utf8), path: file)
    try DurableFile.writeAll(descriptor, Array(repeating: UInt8(ascii: "x"), count: 100_000), path: file)
    close(descriptor)
    let bytes = try DurableFile.readAll(path: file)
    XCTAssertEqual(bytes.count, 4 + 100_000)
    XCTAssertEqual(Array(bytes.prefix(4)), Array("one\n".utf8))
    XCTAssertThrowsError(try DurableFile.writeAll(-1, [1], path: "closed")) { error in
      XCTAssertTrue((error as! DurableFileError).reason.hasPrefix("cannot write closed"), "\(error)")
    }
  }
}
