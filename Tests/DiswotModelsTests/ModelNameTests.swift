import DiswotModels
import DiswotTensor
import XCTest

/// `ModelName`: one scheme that parses and prints every architecture a command accepts or
/// a weights file holds (issue 12, item 3).
final class ModelNameTests: XCTestCase {
  private func load(_ name: String) throws -> SearchSpace {
    try SearchSpace.load(path: SearchSpaceTests.spacesDirectory.appendingPathComponent("\(name).json").path)
  }

  func testNamesPrintInCanonicalFormAndParseBack() throws {
    let cases: [(String, String)] = [
      ("resnet56", "resnet56"), ("ResNet20", "resnet20"), ("resnet-d9_9_9-w16_32_64", "resnet56"),
      ("resnet-d1_1_1-w32_64_128", "resnet-d1_1_1-w32_64_128"), ("resnet-d2_3-w8_24", "resnet-d2_3-w8_24"),
      ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "nas-bench-201:|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"),
      ("mobilenetv2:depths=1;kernels=3", "mobilenetv2:depths=1;kernels=3"),
      ("resnet18", "resnet18"), ("RESNET152", "resnet152"), ("resnet-bottleneck-d3_4_6_3-w64_128_256_512", "resnet50"),
      ("resnet-basic-d1_2_2_1-w64_96_192_384", "resnet-basic-d1_2_2_1-w64_96_192_384"),
      // CIFAR ResNets of depth 50 and 152 keep a name that cannot be taken for torchvision's.
      ("resnet-d8_8_8-w16_32_64", "resnet-d8_8_8-w16_32_64"), ("resnet-d25_25_25-w16_32_64", "resnet-d25_25_25-w16_32_64"),
    ]
    for (given, printed) in cases {
      let name = try ModelName(parsing: given)
      XCTAssertEqual(name.description, printed, given)
      XCTAssertEqual(try ModelName(parsing: name.description), name, given)
    }
    XCTAssertEqual(try ModelName(parsing: "resnet-d1_1_1-w32_64_128"), .resnet(blocksPerStage: [1, 1, 1], widths: [32, 64, 128]))
  }

  /// `resnet18/34/50/101/152` are torchvision's, though 50 and 152 are also 6n+2 depths;
  /// every other `resnet{6n+2}` is still a CIFAR ResNet.
  func testTorchvisionDepthsWinOverCIFARDepths() throws {
    for (depth, block, blocks) in [(18, ResNetBlockKind.basic, [2, 2, 2, 2]), (34, .basic, [3, 4, 6, 3]), (50, .bottleneck, [3, 4, 6, 3]),
                                   (101, .bottleneck, [3, 4, 23, 3]), (152, .bottleneck, [3, 8, 36, 3])] {
      XCTAssertEqual(
        try ModelName(parsing: "resnet\(depth)"),
        .torchvisionResNet(block: block, blocksPerStage: blocks, widths: [64, 128, 256, 512]), "\(depth)")
    }
    XCTAssertEqual(try ModelName(parsing: "resnet56"), .resnet(blocksPerStage: [9, 9, 9], widths: [16, 32, 64]))
    XCTAssertEqual(ResNetDescription(blocksPerStage: [8, 8, 8], widths: [16, 32, 64]).name, "resnet-d8_8_8-w16_32_64")
    XCTAssertEqual(ResNetDescription(blocksPerStage: [9, 9, 9], widths: [16, 32, 64]).name, "resnet56")
  }

  /// A torchvision ResNet's file is recognised by its 7×7 stem and named by its layout;
  /// the name given with it is checked, and a CIFAR ResNet name is refused.
  func testATorchvisionWeightsFileIsNamedAndChecked() throws {
    let model = try TorchvisionResNet(TorchvisionResNetDescription(block: .bottleneck, blocksPerStage: [1, 2], widths: [8, 16], classCount: 4))
    let file = SafetensorsFile(tensors: Dictionary(uniqueKeysWithValues: model.stateDict().map { ("module." + $0.name, $0.tensor) }))
    XCTAssertEqual(try ModelZoo.architecture(of: file).name.description, "resnet-bottleneck-d1_2-w8_16")
    let loaded = try ModelZoo.loadAny(file, name: "resnet-bottleneck-d1_2-w8_16")
    XCTAssertEqual(loaded.classCount, 4)
    XCTAssertTrue(loaded is TorchvisionResNet)
    for wrong in ["resnet-basic-d1_2-w8_16", "resnet50", "resnet-d1_2-w8_16"] {
      XCTAssertThrowsError(try ModelZoo.loadAny(file, name: wrong), wrong) { error in
        XCTAssertEqual(error as? ModelError, .stateMismatch("the weights file holds resnet-bottleneck-d1_2-w8_16, not \(wrong)"))
      }
    }
    let resnet18 = try TorchvisionResNet(TorchvisionResNetDescription(block: .basic, blocksPerStage: [2, 2, 2, 2], classCount: 10))
    XCTAssertEqual(resnet18.metadata["arch"], "resnet18")
    let file18 = SafetensorsFile(tensors: Dictionary(uniqueKeysWithValues: resnet18.stateDict().map { ($0.name, $0.tensor) }))
    XCTAssertEqual(try ModelZoo.architecture(of: file18, named: "resnet18").name.description, "resnet18")
  }

  func testMalformedNamesAreUnknownModelsSayingWhy() {
    for (text, why) in [
      ("vgg", "a VGG is"), ("densenet", "a model is"), ("resnet21", "6n+2"), ("resnet-d1_1-w16", "widths lists 1 stages"),
      ("resnet-d1_x-w16_32", "a model is"), ("resnet-d0-w16", "between 1 and"), (":key", "needs both"), ("space:", "needs both"),
    ] {
      XCTAssertThrowsError(try ModelName(parsing: text), text) { error in
        guard case .unknownModel(let message) = error as? ModelError else { return XCTFail("\(text): \(error)") }
        XCTAssertTrue(message.contains(why), "\(text): \(message)")
      }
    }
  }

  /// A space's architecture resolves through the space, its key to canonical form; a key
  /// the space does not have is refused with the space's reason.
  func testSpaceArchitecturesResolveThroughTheirSpace() throws {
    let space = try load("mobilenetv2")
    let key = "depths=1,2,2,2,2,2,1;expansions=1,3,6,3,6,3,6,3,6,3,6,6;kernels=3,3,5,7,3,5,7,3,5,7,3,3"
    let resolved = try ModelName(parsing: "mobilenetv2:\(key)").resolve(loadSpace: { _ in space })
    XCTAssertEqual(resolved.name.description, "mobilenetv2:\(key)")
    let (model, metadata) = try resolved.build()
    XCTAssertEqual(metadata["key"], key)
    XCTAssertEqual(model.classCount, space.classCount)
    XCTAssertThrowsError(try ModelName(parsing: "mobilenetv2:depths=9").resolve(loadSpace: { _ in space }))
  }

  /// A ResNet file's architecture is read off its tensors; a name is checked against it
  /// (shape only: the file decides classes and shortcut) and a disagreement names both.
  func testAWeightsFileIsNamedAndCheckedAgainstAGivenName() throws {
    let description = ResNetDescription(blocksPerStage: [1, 1, 1], widths: [32, 64, 128], shortcut: .b, classCount: 7, classifierName: "fc")
    let model = try ResNetCIFAR(description)
    let file = SafetensorsFile(tensors: Dictionary(uniqueKeysWithValues: model.stateDict().map { ($0.name, $0.tensor) }))
    XCTAssertEqual(try ModelZoo.architecture(of: file).name.description, "resnet-d1_1_1-w32_64_128")
    XCTAssertNoThrow(try ModelZoo.loadAny(file, name: "resnet-d1_1_1-w32_64_128"))
    XCTAssertThrowsError(try ModelZoo.loadAny(file, name: "resnet56")) { error in
      XCTAssertEqual(error as? ModelError, .stateMismatch("the weights file holds resnet-d1_1_1-w32_64_128, not resnet56"))
    }
  }
}
