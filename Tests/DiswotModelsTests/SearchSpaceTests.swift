import DiswotJSON
import DiswotModels
import DiswotTensor
import DiswotTestSupport
import XCTest

final class SearchSpaceTests: XCTestCase {
  static let spacesDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("SearchSpaces")

  func space(_ name: String) throws -> SearchSpace {
    try SearchSpace.load(path: Self.spacesDirectory.appendingPathComponent("\(name).json").path)
  }

  func testShippedResNetSpaces() throws {
    let s1 = try space("resnet-cifar-depth")
    XCTAssertEqual(s1.size, 64)
    XCTAssertEqual(s1.family, .resnetCIFAR(shortcut: .b, classifierName: "fc"))
    let big = try space("resnet-cifar")
    XCTAssertEqual(big.size, 373_248)
    // Every S1 architecture is a member of the larger space.
    for g in try s1.enumerate() {
      XCTAssertNoThrow(try big.genotype(fromJSON: s1.json(of: g)))
    }
  }

  /// ResNet-18/34-sized torchvision students on 224×224 images: torchvision's resnet18 and
  /// resnet34 are members (same layers as by name), features of 256 to 512 channels.
  func testShippedResNetImageNetSpace() throws {
    let s = try space("resnet-imagenet")
    XCTAssertEqual(s.family, .resnetImageNet(block: .basic))
    XCTAssertEqual(s.size, 41_472)
    XCTAssertEqual(s.inputShape, [3, 224, 224])
    XCTAssertEqual(s.featureChannelOptions, [256, 384, 512])
    for (key, name) in [("depths=2,2,2,2;widths=64,128,256,512", "resnet18"), ("depths=3,4,6,3;widths=64,128,256,512", "resnet34")] {
      let resolved = try ModelName(parsing: "resnet-imagenet:\(key)").resolve(loadSpace: { _ in s })
      XCTAssertTrue(resolved.network.hasSameArchitecture(as: try ModelName(parsing: name).resolve().network), key)
    }
    let small = try s.build(try s.genotype(fromKey: "depths=1,1,1,1;widths=32,64,128,256"), classCount: 3)
    XCTAssertTrue(small is TorchvisionResNet)
    XCTAssertEqual(try small.forward(Tensor(zeros: [1, 3, 32, 32]), mode: .inference).shape, [1, 3])
  }

  /// A resnet-imagenet space names its block kind and cannot ask for inputs below 32×32.
  func testResNetImageNetSpaceSettingsAreChecked() throws {
    func parse(block: String, side: Int) throws -> SearchSpace {
      try SearchSpace.parse(Array("""
        {"format": "diswot.search-space.v1", "name": "t", "family": "resnet-imagenet",
         "input": {"channels": 3, "height": \(side), "width": \(side)}, "classes": 10, "settings": {"block": "\(block)"},
         "choices": {"depths": [[1, 2]], "widths": [[8, 16]]}}
        """.utf8), source: "t.json")
    }
    XCTAssertEqual(try parse(block: "bottleneck", side: 32).featureChannelOptions, [32, 64])
    XCTAssertThrowsError(try parse(block: "wide", side: 32)) { XCTAssertTrue("\($0)".contains("settings.block"), "\($0)") }
    XCTAssertThrowsError(try parse(block: "basic", side: 31)) { XCTAssertTrue("\($0)".contains("at least 32×32"), "\($0)") }
  }

  /// All 64 S1 architectures: distinct keys, JSON round trip, forward pass at batch 2.
  func testEveryS1ArchitectureBuildsAndRuns() throws {
    let s1 = try space("resnet-cifar-depth")
    let all = try s1.enumerate()
    XCTAssertEqual(all.count, 64)
    XCTAssertEqual(Set(all.map(s1.key(of:))).count, 64)
    var rng = SeededGenerator(seed: 11)
    let x = Tensor.normal([2, 3, 32, 32], using: &rng)
    for g in all {
      XCTAssertEqual(try s1.genotype(fromJSON: s1.json(of: g)), g)
      let model = try s1.build(g)
      model.initialize(.kaimingNormalFanOut, using: &rng)
      let logits = try model.forward(x, mode: .training(updateRunningStatistics: false))
      XCTAssertEqual(logits.shape, [2, 10], s1.key(of: g))
      XCTAssertTrue(logits.storage.allSatisfy(\.isFinite), s1.key(of: g))
    }
  }

  /// depths [1, 1, 1], widths 16/32/64, option B, by hand:
  /// params: stem 432 + 32; stage 1: 2·2304 + 2·32; stage 2: 4608 + 9216 + 2·64 + projection
  /// 512 + 64; stage 3: 18 432 + 36 864 + 2·128 + projection 2048 + 128; fc 650 → 78 042.
  /// MACs: 442 368 + 2·2 359 296 + (1 179 648 + 2 359 296 + 131 072)·2 + 640 = 12 501 632.
  func testSmallestS1ArchitectureByHand() throws {
    let s1 = try space("resnet-cifar-depth")
    let g = try s1.genotype(fromJSON: ["depths": [1, 1, 1], "widths": [16, 32, 64]])
    XCTAssertEqual(s1.key(of: g), "depths=1,1,1;widths=16,32,64")
    let model = try s1.build(g)
    XCTAssertEqual(model.parameterCount, 78_042)
    XCTAssertEqual(try model.macs(height: 32, width: 32), 12_501_632)
    XCTAssertTrue(model.stateDict().contains { $0.name == "fc.weight" })
  }

  func testSampledResNetArchitecturesBuild() throws {
    let big = try space("resnet-cifar")
    var rng = SeededGenerator(seed: 5)
    let x = Tensor.normal([2, 3, 32, 32], using: &rng)
    for _ in 0..<6 {
      let g = big.sample(using: &rng)
      let model = try big.build(g)
      model.initialize(.kaimingNormalFanOut, using: &rng)
      XCTAssertEqual(try model.forward(x, mode: .training(updateRunningStatistics: false)).shape, [2, 10])
    }
  }

  func testArchitecturesOutsideTheSpaceAreRejected() throws {
    let s1 = try space("resnet-cifar-depth")
    let bad: [(JSONValue, String)] = [
      (["depths": [1, 2, 3], "widths": [16, 32, 64]], "depths[1] = 2 is not one of [1,3,5,7]"),
      (["depths": [1, 3], "widths": [16, 32, 64]], "has 2 values"),
      (["depths": [1, 3, 5], "widths": [16, 1_000_000_000, 64]], "widths[1] = 1000000000"),
      (["depths": [1, 3, 5], "widths": [16, 32, 64], "kernels": [3]], "unknown choice 'kernels'"),
      (["depths": [1, 3, 5]], "'widths' must be an array"),
      ("resnet20", "JSON object"),
    ]
    for (json, fragment) in bad {
      XCTAssertThrowsError(try s1.genotype(fromJSON: json)) { error in
        XCTAssertTrue("\(error)".contains(fragment), "\(error)")
      }
    }
  }

  func testMalformedSpaceFilesNameTheField() {
    func check(_ text: String, _ field: String, file: StaticString = #filePath, line: UInt = #line) {
      XCTAssertThrowsError(try SearchSpace.parse(Array(text.utf8), source: "t.json"), file: file, line: line) { error in
        // A document-level error names no field (no empty "field ''").
        let named = field.isEmpty ? !"\(error)".contains("field '") : "\(error)".contains("field '\(field)'")
        XCTAssertTrue(named, "\(error)", file: file, line: line)
      }
    }
    let head = #""format": "diswot.search-space.v1", "name": "t", "input": {"channels": 3, "height": 32, "width": 32}, "classes": 10"#
    check("{", "")
    check("[]", "")
    check(#"{"format": "v0"}"#, "format")
    check("{\(head), \"family\": \"resnet-cifar\"}", "choices")
    check("{\(head), \"family\": \"vgg\", \"choices\": {\"depths\": [[1]], \"widths\": [[16]]}}", "family")
    check("{\(head), \"family\": \"resnet-cifar\", \"choices\": {\"depths\": [[1.5]], \"widths\": [[16]]}}", "choices.depths[0]")
    check("{\(head), \"family\": \"resnet-cifar\", \"choices\": {\"depths\": [[1]], \"widths\": [[100000000]]}}", "choices.widths[0]")
    check("{\(head), \"family\": \"resnet-cifar\", \"choices\": {\"depths\": [[1]], \"widths\": [[16]]}, \"settings\": {\"shortcut\": \"C\"}}", "settings.shortcut")
    check("{\(head), \"family\": \"resnet-cifar\", \"choices\": {\"depths\": [[1]], \"widths\": [[16]]}, \"extra\": 1}", "extra")
    check("{\(head), \"family\": \"resnet-cifar\", \"choices\": {\"depths\": [[1, 1]], \"widths\": [[16]]}}", "choices.depths[0]")
  }

  func testLimitsAreEnforcedWhenBuilding() throws {
    let text = """
      {"format": "diswot.search-space.v1", "name": "tiny", "family": "resnet-cifar",
       "input": {"channels": 3, "height": 32, "width": 32}, "classes": 10,
       "choices": {"depths": [[1, 9]], "widths": [[16]]}, "limits": {"max_params": 10000}}
      """
    let tiny = try SearchSpace.parse(Array(text.utf8), source: "tiny.json")
    XCTAssertNoThrow(try tiny.build(tiny.genotype(fromJSON: ["depths": [1], "widths": [16]])))
    XCTAssertThrowsError(try tiny.build(tiny.genotype(fromJSON: ["depths": [9], "widths": [16]]))) { error in
      XCTAssertTrue("\(error)".contains("exceed the space's limit of 10000"), "\(error)")
    }
  }

  func testNASBench201SpaceUsesTheBenchmarksStrings() throws {
    let nb = try space("nas-bench-201")
    XCTAssertEqual(nb.size, 15_625)
    XCTAssertEqual(nb.family, .nasBench201(channels: 16, cellsPerStage: 5))
    let best = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    let g = try nb.genotype(fromJSON: ["cell": .string(best)])
    XCTAssertEqual(nb.key(of: g), best)
    XCTAssertEqual(nb.json(of: g), ["cell": .string(best)])
    XCTAssertEqual(try nb.genotype(fromJSON: .string(best)), g)
    // 1 288 506 parameters and 184 730 240 MACs, hand-counted in NASBench201Tests.
    let model = try nb.build(g)
    XCTAssertEqual(model.parameterCount, 1_288_506)
    XCTAssertEqual(try model.macs(height: 32, width: 32), 184_730_240)
    XCTAssertThrowsError(try nb.genotype(fromJSON: ["cell": "|nor_conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|"]))
    XCTAssertThrowsError(try nb.genotype(fromJSON: ["depths": [1]]))
    let all = try nb.enumerate()
    XCTAssertEqual(all.count, 15_625)
    XCTAssertEqual(Set(all.map(nb.key(of:))).count, 15_625)
  }

  func testSampledNASBench201AndMobileNetV2ArchitecturesRun() throws {
    var rng = SeededGenerator(seed: 9)
    for (name, samples) in [("nas-bench-201", 6), ("mobilenetv2", 3)] {
      let s = try space(name)
      let x = Tensor.normal([2] + s.inputShape, using: &rng)
      for _ in 0..<samples {
        let g = s.sample(using: &rng)
        XCTAssertEqual(try s.genotype(fromJSON: s.json(of: g)), g, s.key(of: g))
        let model = try s.build(g)
        model.initialize(.kaimingNormalFanOut, using: &rng)
        let logits = try model.forward(x, mode: .training(updateRunningStatistics: false))
        XCTAssertEqual(logits.shape, [2, s.classCount])
        XCTAssertTrue(logits.storage.allSatisfy(\.isFinite), s.key(of: g))
      }
    }
  }

  /// Each of the five middle stages offers Σ_{d=2..4} 6^d = 1 548 block combinations, the
  /// last stage 6, the first 1: 1 548⁵ · 6 architectures. A genotype's inactive slots
  /// (beyond its stage's depth) are canonical and left out of the key.
  func testMobileNetV2SpaceCountsOnlyActiveBlocks() throws {
    let mb = try space("mobilenetv2")
    XCTAssertEqual(mb.size, pow(1548.0, 5) * 6, accuracy: 1e3)
    var rng = SeededGenerator(seed: 3)
    let g = mb.sample(using: &rng)
    guard case .mobileNetV2 = mb.family else { return XCTFail("family") }
    let depths = try XCTUnwrap(mb.json(of: g).objectValue?["depths"]?.arrayValue).map { $0.intValue! }
    let key = mb.key(of: g)
    let kernels = try XCTUnwrap(key.split(separator: ";").last?.split(separator: "=").last).split(separator: ",")
    XCTAssertEqual(kernels.count, depths.reduce(0, +))
    XCTAssertThrowsError(try mb.enumerate())
  }
}
