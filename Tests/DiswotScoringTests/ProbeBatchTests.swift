import DiswotData
import DiswotScoring
import DiswotTensor
import DiswotTestSupport
import Foundation
import XCTest

/// Probe batches drawn from a dataset (issue 11, item 4): the same images in the same
/// order as when the whole train split was loaded and normalised, while reading only the
/// records drawn.
final class ProbeBatchTests: XCTestCase {
  /// The first 64 indices `ProbeBatch` drew from 1000 records with seed 0 when it shuffled
  /// the whole index range of a loaded split (recorded from that implementation).
  static let drawnBefore = [
    822, 215, 777, 552, 994, 794, 154, 323, 385, 316, 342, 271, 719, 577, 599, 737, 843, 233, 66, 881, 672, 229,
    484, 708, 865, 671, 402, 607, 356, 305, 23, 347, 762, 644, 110, 948, 750, 193, 179, 922, 70, 818, 395, 812,
    340, 955, 83, 141, 423, 982, 529, 241, 690, 406, 821, 371, 587, 30, 554, 31, 158, 844, 882, 673,
  ]

  /// FNV-1a of the float bit patterns of the three probe batches a session (batch 16,
  /// seed 3, probes 3) drew from `SyntheticCIFAR.write(train: 1000, test: 10, seed: 5)`
  /// when it loaded and normalised the whole split first (recorded from that implementation).
  static let sessionProbesBefore: [UInt64] = [0x406b_90dc_ae13_eed6, 0x5472_73ec_355c_cb16, 0x7b6d_cdc1_f96e_33ca]

  static func hash(_ t: Tensor) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    t.withUnsafeBufferPointer { for x in $0 { h = (h ^ UInt64(x.bitPattern)) &* 0x0000_0100_0000_01B3 } }
    return h
  }

  /// Bytes this process has read through read(2) and pread(2) so far (Linux only).
  static func bytesRead() throws -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/self/io", encoding: .utf8) else { return nil }
    let line = text.split(separator: "\n").first { $0.hasPrefix("rchar:") }
    return line.flatMap { Int($0.dropFirst("rchar:".count).trimmingCharacters(in: .whitespaces)) }
  }

  func testSameImagesInTheSameOrderAsLoadingTheWholeSplit() throws {
    let dir = try SyntheticCIFAR.write(train: 1000, test: 10, seed: 5)
    addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
    let data = try DataSpec(parsing: "cifar10:\(dir.path)")
    var whole = try data.load(.train)
    try whole.normalize(.cifar10)
    for seed: UInt64 in [0, 12345, .max] {
      let probe = try ProbeBatch.sample(
        from: data, normalization: .cifar10, batch: 64, seed: seed, inputShape: [3, 32, 32], classCount: 10)
      let drawn = (0..<64).map { slot in
        (0..<whole.count).first { whole.batch([$0]).images.storage == Array(probe.images.storage[(slot * 3072)..<((slot + 1) * 3072)]) }
      }
      if seed == 0 { XCTAssertEqual(drawn, Self.drawnBefore.map { $0 }) }
      let reference = whole.batch(drawn.compactMap { $0 })
      XCTAssertEqual(probe.images.storage.map(\.bitPattern), reference.images.storage.map(\.bitPattern), "seed \(seed)")
      XCTAssertEqual(probe.labels, reference.labels)
    }

    let session = try ScoringSession(spec: ScoringSpec(
      space: SearchSpaces.path("resnet-cifar-depth"), teacher: .init(name: "resnet20"), data: "cifar10:\(dir.path)", batch: 16,
      proxies: [.diswot], seed: 3, probes: 3))
    XCTAssertEqual(session.scorers.map { Self.hash($0.probe.images) }, Self.sessionProbesBefore)
  }

  func testDrawingAProbeBatchReadsOnlyTheRecordsDrawn() throws {
    guard try Self.bytesRead() != nil else { throw XCTSkip("/proc/self/io is Linux only") }
    let dir = try SyntheticCIFAR.write(train: 5000, test: 10, seed: 5)  // 15.4 MB of records
    addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
    let data = try DataSpec(parsing: "cifar10:\(dir.path)")
    let before = try XCTUnwrap(try Self.bytesRead())
    let probe = try ProbeBatch.sample(from: data, normalization: .cifar10, batch: 64, seed: 7, inputShape: [3, 32, 32], classCount: 10)
    let read = try XCTUnwrap(try Self.bytesRead()) - before
    XCTAssertEqual(probe.batchSize, 64)
    // 64 records of 3073 bytes; a little slack for anything else the process reads meanwhile.
    XCTAssertGreaterThanOrEqual(read, 64 * 3073)
    XCTAssertLessThan(read, 64 * 3073 + 256 * 1024, "read \(read) bytes for a 64-image probe batch")

    // The measurement sees a whole-split read (what drawing a probe batch used to cost).
    let start = try XCTUnwrap(try Self.bytesRead())
    _ = try data.load(.train)
    XCTAssertGreaterThanOrEqual(try XCTUnwrap(try Self.bytesRead()) - start, 5000 * 3073)
  }

  func testABatchLargerThanTheDataIsAnError() throws {
    let dir = try SyntheticCIFAR.write(train: 10, test: 1, seed: 5)
    addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
    XCTAssertThrowsError(try ProbeBatch.sample(
      from: DataSpec(parsing: "cifar10:\(dir.path)"), normalization: .cifar10, batch: 16, seed: 0, inputShape: [3, 32, 32], classCount: 10)
    ) { XCTAssertTrue("\($0)".contains("a probe batch of 16 needs at least that many images; the data has 10"), "\($0)") }
  }
}
