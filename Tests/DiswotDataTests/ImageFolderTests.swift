import DiswotData
import DiswotTensor
import Foundation
import XCTest

/// `folder:DIR` in torchvision's ImageFolder layout, built from the fixture images.
final class ImageFolderTests: XCTestCase {
  private var images: URL { Bundle.module.resourceURL!.appendingPathComponent("Fixtures/images") }

  /// DIR/train/{cat,ant}/…, DIR/val/ant/… from fixture images (`name` → `path` under DIR).
  private func makeFolder(_ files: [(fixture: String, path: String)]) throws -> URL {
    let root = try makeTemporaryDirectory()
    for (fixture, path) in files {
      let target = root.appendingPathComponent(path)
      try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
      try FileManager.default.copyItem(at: images.appendingPathComponent(fixture), to: target)
    }
    return root
  }

  private var standard: [(fixture: String, path: String)] {
    [
      ("rgb_37x53.jpg", "train/cat/b.jpg"), ("gray_19x27.png", "train/cat/A.PNG"), ("rgba_28x40.png", "train/cat/sub/c.png"),
      ("cmyk_23x31.jpg", "train/ant/x.jpeg"), ("rgb_45x33.png", "train/ant/notes.txt"),
      ("palette_alpha_31x22.png", "val/ant/p.png"),
    ]
  }

  func testClassesSortedAndFilesInTorchvisionOrder() throws {
    let root = try makeFolder(standard)
    let train = try ImageFolder(root: root.path, split: .train)
    XCTAssertEqual(train.classNames, ["ant", "cat"])
    // Sorted names ("A.PNG" < "b.jpg" by code point), the root's files before a sub-folder's;
    // notes.txt is not an image file and is not listed.
    XCTAssertEqual(train.paths.map { String($0.dropFirst(root.path.count + 1)) },
                   ["train/ant/x.jpeg", "train/cat/A.PNG", "train/cat/b.jpg", "train/cat/sub/c.png"])
    XCTAssertEqual(train.labels, [0, 1, 1, 1])
    // val/ holds only "ant": labelled by train/'s numbering.
    let test = try DataSplit(.folder(directory: root.path), .test)
    XCTAssertEqual(test.count, 1)
    XCTAssertEqual(test.classCount, 2)
    let loaded = try test.load([0], height: 16, width: 16)
    XCTAssertEqual(loaded.dataset.images.shape, [1, 3, 16, 16])
    XCTAssertEqual(loaded.dataset.labels, [0])
  }

  func testMissingSplitsAndStrayClassesAreNamed() throws {
    let onlyTrain = try makeFolder([("rgb_37x53.jpg", "train/a/1.jpg")])
    XCTAssertThrowsError(try ImageFolder(root: onlyTrain.path, split: .test)) {
      XCTAssertTrue("\($0)".contains("has no val/ or test/ split"), "\($0)")
    }
    let onlyTest = try makeFolder([("rgb_37x53.jpg", "test/a/1.jpg")])
    XCTAssertThrowsError(try ImageFolder(root: onlyTest.path, split: .train)) {
      XCTAssertTrue("\($0)".contains("has no train/ split"), "\($0)")
    }
    XCTAssertEqual(try ImageFolder(root: onlyTest.path, split: .test).classNames, ["a"], "test/ used when there is no val/")
    let stray = try makeFolder([("rgb_37x53.jpg", "train/a/1.jpg"), ("rgb_37x53.jpg", "val/b/1.jpg")])
    XCTAssertThrowsError(try ImageFolder(root: stray.path, split: .test)) {
      XCTAssertTrue("\($0)".contains("has class b, which"), "\($0)")
    }
    let empty = try makeFolder([("rgb_37x53.jpg", "train/a/1.jpg"), ("rgb_37x53.jpg", "train/b/notes.txt")])
    XCTAssertThrowsError(try ImageFolder(root: empty.path, split: .train)) {
      XCTAssertTrue("\($0)".contains("no image files") && "\($0)".contains("classes b"), "\($0)")
    }
  }

  func testABadImageIsNamedOrSkippedWithACount() throws {
    let root = try makeFolder(standard + [("bad_truncated.jpg", "train/ant/y.jpg")])
    let split = try DataSplit(.folder(directory: root.path), .train)
    let bad = root.appendingPathComponent("train/ant/y.jpg").path
    XCTAssertThrowsError(try split.load(Array(0..<split.count), height: 8, width: 8)) {
      XCTAssertTrue("\($0)".contains(bad) && "\($0)".contains("--skip-bad-images"), "\($0)")
    }
    let loaded = try split.load(Array(0..<split.count), height: 8, width: 8, skipBadImages: true)
    XCTAssertEqual(loaded.skipped, [bad])
    XCTAssertEqual(loaded.dataset.count, split.count - 1)
    XCTAssertEqual(loaded.dataset.labels, [0, 1, 1, 1])
  }

  /// Training crops depend only on each image's seed, not on which thread decodes it.
  func testTrainingPreparationIsSeeded() throws {
    let root = try makeFolder(standard)
    let split = try DataSplit(.folder(directory: root.path), .train)
    let seeds: [UInt64] = [1, 2, 3, 4]
    let a = try split.load([0, 1, 2, 3], height: 12, width: 12, training: seeds).dataset
    let b = try split.load([0, 1, 2, 3], height: 12, width: 12, training: seeds).dataset
    let c = try split.load([0, 1, 2, 3], height: 12, width: 12, training: [5, 6, 7, 8]).dataset
    XCTAssertEqual(a.images, b.images)
    XCTAssertNotEqual(a.images, c.images)
  }

  /// 32×32 binaries taken at another size are resized with PIL's filter (item: the
  /// mobilenetv2 space at 64×64 on CIFAR), and the split says so.
  func testBinaryImagesAreResizedToTheNetworksSize() throws {
    let directory = try makeTemporaryDirectory()
    let record = Fixtures.cifarRecord(labels: [3], seed: 1)
    for name in ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"] {
      try Data(record).write(to: directory.appendingPathComponent(name))
    }
    let split = try DataSplit(.cifar10(directory: directory.path), .train)
    XCTAssertNil(split.resizeNote(height: 32, width: 32))
    XCTAssertEqual(split.resizeNote(height: 64, width: 64), "32×32 images resized (bilinear) to 64×64")
    let loaded = try split.load([0], height: 64, width: 64).dataset
    XCTAssertEqual(loaded.images.shape, [1, 3, 64, 64])
    let plane = Array(record[1..<1025])
    let expected = plane.withUnsafeBufferPointer {
      ImageResize.resample($0.baseAddress!, width: 32, height: 32, channels: 1, toWidth: 64, toHeight: 64)
    }
    XCTAssertEqual(Array(loaded.images.storage[0..<4096]), expected.map { Float($0) / 255 })
  }
}
