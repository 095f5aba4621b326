import DiswotData
import DiswotTestSupport
import Foundation
import XCTest

/// `ImageFolder(unlabelled:)`: every image file under a directory, recursively, in the
/// labelled layout's order; `relabelled` keeps the paths it is given with their labels.
final class UnlabelledImagesTests: XCTestCase {
  private var root: URL!

  override func setUpWithError() throws {
    root = try scratchDirectory(self)
  }

  private func touch(_ relative: String) throws {
    let file = root.appendingPathComponent(relative)
    try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data().write(to: file)
  }

  func testImagesAreFoundRecursivelyInSortedOrderAndRelabelled() throws {
    for name in ["b.png", "a.JPG", "notes.txt", "cats/2.jpg", "cats/10.jpeg", "Z/x.png", "cats/deep/1.png"] { try touch(name) }
    let folder = try ImageFolder(unlabelled: root.path, classCount: 3)
    // Folders by sorted path (root, Z, cats, cats/deep), names sorted in each; notes.txt is no image.
    XCTAssertEqual(folder.paths.map { String($0.dropFirst(root.path.count + 1)) }, ["a.JPG", "b.png", "Z/x.png", "cats/10.jpeg", "cats/2.jpg", "cats/deep/1.png"])
    XCTAssertEqual(folder.classCount, 3)
    XCTAssertEqual(folder.labels, [0, 0, 0, 0, 0, 0], "placeholders until the teachers label them")
    let kept = folder.relabelled([4, 1], labels: [2, 1])
    XCTAssertEqual(kept.paths, [folder.paths[4], folder.paths[1]])
    XCTAssertEqual(kept.labels, [2, 1])
    XCTAssertEqual(kept.classCount, 3)
  }

  func testAnEmptyDirectoryOrAFileIsAnErrorNamingIt() throws {
    try touch("sub/readme.txt")
    XCTAssertThrowsError(try ImageFolder(unlabelled: root.path, classCount: 10)) {
      XCTAssertTrue("\($0)".contains("\(root.path) holds no image files"), "\($0)")
    }
    XCTAssertThrowsError(try ImageFolder(unlabelled: root.appendingPathComponent("sub/readme.txt").path, classCount: 10)) {
      XCTAssertTrue("\($0)".contains("is not a directory"), "\($0)")
    }
  }
}
