import DiswotModels
import DiswotTensor
import Foundation
import XCTest

/// The generated PyTorch source, checked without PyTorch: per family a golden file (the
/// fixture networks of PyTorchStateDictTests; Scripts/check-export.sh loads those very
/// files into PyTorch against the PyTorch-written fixtures), and the parts that vary with
/// the architecture. Set DISWOT_UPDATE_GOLDEN=1 to rewrite the golden files after a
/// deliberate change, then review the diff and run Scripts/check-export.sh.
final class PyTorchModuleTests: XCTestCase {
  static let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures/export")

  /// The fixture ResNet with option-A shortcuts gets the normalisation, the others none.
  private func source(_ family: String, _ model: any Classifier) throws -> String {
    let normalization = family == "resnet-a"
      ? PyTorchModule.Normalization(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]) : nil
    return try PyTorchModule.source(for: model, normalization: normalization)
  }

  func testEveryFamilyMatchesItsGoldenFile() throws {
    for (family, build) in PyTorchStateDictTests.families {
      let generated = try source(family, try build())
      let url = Self.goldenDirectory.appendingPathComponent(family + ".py")
      if ProcessInfo.processInfo.environment["DISWOT_UPDATE_GOLDEN"] == "1" {
        try generated.write(to: url, atomically: true, encoding: .utf8)
      }
      XCTAssertEqual(generated, try String(contentsOf: url, encoding: .utf8), "\(family): regenerate with DISWOT_UPDATE_GOLDEN=1")
    }
  }

  /// Only the `Student` call depends on the architecture, and it carries all of it.
  func testTheStudentCallCarriesTheWholeArchitecture() throws {
    let resnet = try PyTorchModule.source(for: ResNetCIFAR(ResNetDescription(
      blocksPerStage: [2, 3], widths: [32, 48], shortcut: .b, classCount: 100, classifierName: "fc", inputChannels: 1)))
    let arguments = ["blocks_per_stage=[2, 3],", "widths=[32, 48],", #"shortcut="B","#, #"classifier="fc","#, "num_classes=100,", "in_channels=1,"]
    XCTAssertTrue(resnet.contains(arguments.map { "            " + $0 }.joined(separator: "\n")), resnet)
    XCTAssertTrue(resnet.contains(#"ARCHITECTURE = "resnet-d2_3-w32_48""#))
    XCTAssertTrue(resnet.contains("MEAN = STD = None"))

    let torchvision = try PyTorchModule.source(for: TorchvisionResNet(TorchvisionResNetDescription(
      block: .bottleneck, blocksPerStage: [3, 4, 6, 3], classCount: 10)))
    XCTAssertTrue(torchvision.contains(#"ARCHITECTURE = "resnet50""#))
    XCTAssertTrue(torchvision.contains(
      #"block="bottleneck",\#n            blocks_per_stage=[3, 4, 6, 3],\#n            widths=[64, 128, 256, 512],\#n            num_classes=10,"#), torchvision)

    let cell = "|avg_pool_3x3~0|+|none~0|skip_connect~1|+|nor_conv_1x1~0|nor_conv_3x3~1|none~2|"
    let nb201 = try PyTorchModule.source(for: NASBench201Network(NASBench201Description(
      genotype: NASBench201Genotype(string: cell), channels: 8, cellsPerStage: 2, classCount: 7)))
    XCTAssertTrue(nb201.contains("cell=\"\(cell)\",\n            channels=8,\n            cells_per_stage=2,\n            num_classes=7,"), nb201)

    let mobilenet = try PyTorchModule.source(for: MobileNetV2Network(.standard(stemStride: 1)), normalization: .init(mean: [0.5], std: [0.25]))
    XCTAssertTrue(mobilenet.contains("                (24, 2, [(6, 3), (6, 3)]),\n                (32, 2, [(6, 3), (6, 3), (6, 3)]),"), mobilenet)
    XCTAssertTrue(mobilenet.contains("stem_width=32,\n            stem_stride=1,\n            last_width=1280,"), mobilenet)
    XCTAssertTrue(mobilenet.contains("MEAN = (0.5,)\nSTD = (0.25,)"), mobilenet)

    // Everything before `class Student` is the family's fixed text.
    for (family, _) in PyTorchStateDictTests.families {
      let golden = try String(contentsOf: Self.goldenDirectory.appendingPathComponent(family + ".py"), encoding: .utf8)
      let other = family.hasPrefix("resnet") ? resnet : family == "nasbench201" ? nb201 : mobilenet
      XCTAssertEqual(definitions(golden), definitions(other), family)
    }
  }

  /// The file needs PyTorch and nothing else.
  func testTheOnlyImportsArePyTorchs() throws {
    for (family, build) in PyTorchStateDictTests.families {
      let imports = try source(family, try build()).split(separator: "\n").filter { $0.hasPrefix("import ") || $0.hasPrefix("from ") }
      XCTAssertEqual(imports, ["import torch", "import torch.nn.functional as F", "from torch import nn"], family)
    }
  }

  /// The text between the imports' constants and `class Student`.
  private func definitions(_ source: String) -> Substring {
    let start = source.range(of: "\n\n\nclass ")!.lowerBound
    let end = source.range(of: "class Student(")!.lowerBound
    return source[start..<end]
  }
}
