import DiswotStore
import Foundation
import XCTest

extension XCTestCase {
  /// A fresh directory removed when the test ends (the daemon's state dir stand-in).
  func makeScratchDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-store-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
  }

  /// A new store in a scratch directory, and its path.
  func makeStore(file: String = "state.db") throws -> (Store, String) {
    let path = try makeScratchDirectory().appendingPathComponent(file).path
    return (try Store(path: path), path)
  }
}

/// An evaluation with recognisable values.
func evaluation(_ searchID: String, _ key: String, score: Double = 1, worker: String? = "w1") -> EvaluationRecord {
  EvaluationRecord(
    searchID: searchID, key: key, archJSON: #"{"key":"\#(key)"}"#, scoresJSON: #"{"diswot":\#(score)}"#,
    params: 1000, macs: 2000, score: score, worker: worker, seconds: 0.25,
    createdAt: Date(timeIntervalSince1970: 1_700_000_000.5))
}

/// An error a test throws on purpose.
struct Boom: Error, Equatable {}

/// Asserts that `body` throws an `SQLiteError` and hands it over.
func assertSQLiteError<T>(
  _ body: @autoclosure () throws -> T, file: StaticString = #filePath, line: UInt = #line,
  _ check: (SQLiteError) -> Void = { _ in }
) {
  XCTAssertThrowsError(try body(), file: file, line: line) { error in
    guard let error = error as? SQLiteError else {
      return XCTFail("expected an SQLiteError, got \(type(of: error)): \(error)", file: file, line: line)
    }
    check(error)
  }
}

/// Asserts that `body` throws exactly `expected`.
func assertStoreError<T>(
  _ body: @autoclosure () throws -> T, _ expected: StoreError, file: StaticString = #filePath, line: UInt = #line
) {
  XCTAssertThrowsError(try body(), file: file, line: line) { error in
    XCTAssertEqual(error as? StoreError, expected, "\(error)", file: file, line: line)
  }
}
