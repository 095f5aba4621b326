import DiswotJSON
import DiswotModels
import DiswotTensor
import XCTest

/// Keys read back into architectures (`SearchSpace.genotype(fromKey:)`), for every shipped
/// space: what `diswot score` and `diswot search` print names a student `diswot export` takes.
final class SearchSpaceKeyTests: XCTestCase {
  private func space(_ name: String) throws -> SearchSpace {
    try SearchSpace.load(path: SearchSpaceTests.spacesDirectory.appendingPathComponent("\(name).json").path)
  }

  func testEveryKeyNamesItsArchitecture() throws {
    var rng = SeededGenerator(seed: 5)
    for name in ["resnet-cifar-depth", "resnet-cifar", "resnet-imagenet", "nas-bench-201", "mobilenetv2"] {
      let s = try space(name)
      for _ in 0..<200 {
        let g = s.sample(using: &rng)
        XCTAssertEqual(try s.genotype(fromKey: s.key(of: g)), g, "\(name): \(s.key(of: g))")
      }
    }
  }

  /// A MobileNetV2 key lists only the blocks its depths keep.
  func testMobileNetV2KeysListOnlyActiveBlocks() throws {
    let s = try space("mobilenetv2")
    let key = "depths=1,2,2,2,2,2,1;expansions=1,3,6,3,6,3,6,3,6,3,6,6;kernels=3,3,5,7,3,5,7,3,5,7,3,3"
    let g = try s.genotype(fromKey: key)
    XCTAssertEqual(s.key(of: g), key)
    XCTAssertEqual(s.json(of: g).objectValue?["depths"], [1, 2, 2, 2, 2, 2, 1])
  }

  /// A NAS-Bench-201 student's file records the space's JSON form of its architecture (not
  /// the network's bare cell string, which used to win); files holding the bare string,
  /// as diswot wrote them before, load too.
  func testNASBench201StudentsLoadFromEitherGenotypeForm() throws {
    let path = SearchSpaceTests.spacesDirectory.appendingPathComponent("nas-bench-201.json").path
    let s = try SearchSpace.load(path: path)
    let cell = "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|"
    let g = try s.genotype(fromKey: cell)
    let model = try s.build(g)
    var metadata = s.metadata(of: g, model: model)
    XCTAssertEqual(metadata["genotype"], #"{"cell":"\#(cell)"}"#)
    XCTAssertEqual(metadata["key"], cell)
    metadata["space"] = path
    let tensors = Dictionary(uniqueKeysWithValues: model.stateDict().map { ($0.name, $0.tensor) })
    for genotype in [metadata["genotype"]!, cell] {
      metadata["genotype"] = genotype
      let loaded = try XCTUnwrap(try ModelZoo.loadAny(SafetensorsFile(metadata: metadata, tensors: tensors)) as? NASBench201Network)
      XCTAssertEqual(loaded.description.genotype.string, cell, genotype)
    }
  }

  func testMalformedKeysAreErrorsSayingWhy() throws {
    let s = try space("resnet-cifar")
    let cases: [(String, String)] = [
      ("depths=1,2,3", "the key lists no 'widths'"),
      ("depths=1,2,3;widths=16,32,64;depths=1,1,1", "a key is choice=value,value,…;choice=…, each choice once; 'depths=1,1,1' is not"),
      ("depth=1,2,3;widths=16,32,64", "unknown choice 'depth' (this space has: depths, widths)"),
      ("depths=1,2;widths=16,32,64", "'depths' lists 2 values, this architecture has 3 positions"),
      ("depths=1,2,10;widths=16,32,64", "depths[2] = 10 is not one of [1,2,3,4,5,6,7,8,9]"),
      ("", "a key is choice=value,value,…;choice=…, each choice once; '' is not"),
    ]
    for (key, reason) in cases {
      XCTAssertThrowsError(try s.genotype(fromKey: key), key) { error in
        XCTAssertEqual(error as? SearchSpaceError, .invalidArchitecture(space: "resnet-cifar", reason: reason), key)
      }
    }
    XCTAssertThrowsError(try space("nas-bench-201").genotype(fromKey: "|nor_conv_3x3~0|"))
  }
}
