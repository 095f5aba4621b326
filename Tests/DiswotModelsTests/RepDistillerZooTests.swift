import DiswotModels
import DiswotTensor
import DiswotTestSupport
import Foundation
import XCTest

/// RepDistiller's CIFAR zoo (issue 13, item 2): its eleven models under its names, with
/// its `state_dict` names and shapes, read off weights files, and PyTorch's logits
/// (fixtures written by Fixtures/repdistiller/make_repdistiller.py from modules defined
/// after RepDistiller's code).
final class RepDistillerZooTests: XCTestCase {
  static let zoo = [
    "resnet8x4", "resnet32x4", "wrn_16_1", "wrn_16_2", "wrn_40_1", "wrn_40_2", "vgg8", "vgg11", "vgg13", "vgg16", "vgg19",
  ]

  private func fixture(_ name: String, _ ext: String = "safetensors") throws -> URL {
    try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures/repdistiller"), name)
  }

  /// RepDistiller's state dicts, in its order, as [name, shape] pairs by model.
  private func referenceNames() throws -> [String: [(String, [Int])]] {
    let json = try XCTUnwrap(
      try JSONSerialization.jsonObject(with: Data(contentsOf: try fixture("names", "json"))) as? [String: [[Any]]])
    return json.mapValues { entries in entries.map { ($0[0] as! String, ($0[1] as! [NSNumber]).map(\.intValue)) } }
  }

  /// Every model has exactly RepDistiller's names and shapes, in its order; a file of
  /// them is read as that model; its footprint is the built network's.
  func testEveryModelHasRepDistillersStateDictAndIsReadOffIt() throws {
    let reference = try referenceNames()
    XCTAssertEqual(Set(reference.keys), Set(Self.zoo))
    for name in Self.zoo {
      let resolved = try ModelName(parsing: name).resolve(classCount: 10)
      XCTAssertEqual(resolved.name.description, name)
      let model = try resolved.build().model
      let state = model.stateDict()
      XCTAssertEqual(state.map(\.name), reference[name]!.map(\.0), name)
      XCTAssertEqual(state.map(\.tensor.shape), reference[name]!.map(\.1), name)

      let file = SafetensorsFile(tensors: Dictionary(uniqueKeysWithValues: state.map { ("module." + $0.name, $0.tensor) }))
      XCTAssertEqual(try ModelZoo.architecture(of: file).name.description, name, "read off a DataParallel state dict")
      XCTAssertEqual(try ModelZoo.loadAny(file, name: name).metadata["arch"], name)

      let footprint = try resolved.footprint(height: 32, width: 32)
      XCTAssertEqual(footprint.parameters, model.parameterCount, name)
      XCTAssertEqual(footprint.stateFloats, state.reduce(0) { $0 + $1.tensor.count }, name)
      XCTAssertEqual(footprint.macs, try model.macs(height: 32, width: 32), name)
    }
  }

  /// PyTorch's logits to 1e-4 of their scale, and the same top-1: the batch norms as
  /// PyTorch saved them after three training batches, every other tensor generated
  /// (`GeneratedWeights`), loaded by name through `ModelZoo.loadAny`. vgg8 at 64×64 takes
  /// RepDistiller's extra pool after block 3.
  func testLogitsMatchPyTorch() throws {
    for (fixtureName, modelName) in [("resnet8x4", "resnet8x4"), ("wrn_16_2", "wrn_16_2"), ("vgg8", "vgg8"), ("vgg8-64", "vgg8")] {
      let batchNorms = try SafetensorsFile.read(path: try fixture(fixtureName + "-bn").path).tensors
      let io = try SafetensorsFile.read(path: try fixture(fixtureName + "-io").path).tensors
      var tensors: [String: Tensor] = [:]
      for (name, t) in try ModelName(parsing: modelName).resolve().build().model.stateDict() {
        tensors[name] = batchNorms[name] ?? GeneratedWeights.tensor(named: name, shape: t.shape)
      }
      XCTAssertEqual(Set(batchNorms.keys).subtracting(tensors.keys), [], fixtureName)
      let model = try ModelZoo.loadAny(SafetensorsFile(tensors: tensors), name: modelName)
      let logits = try model.forward(try XCTUnwrap(io["input"]), mode: .inference)
      let expected = try XCTUnwrap(io["logits"])
      XCTAssertEqual(logits.shape, expected.shape)
      let scale = max(1, expected.storage.map(abs).max()!)
      let error = zip(logits.storage, expected.storage).map { abs($0 - $1) }.max()! / scale
      XCTAssertLessThanOrEqual(error, 1e-4, fixtureName)
      for i in 0..<expected.shape[0] {
        let row = { (t: Tensor) in Array(t.storage[i * t.shape[1]..<(i + 1) * t.shape[1]]) }
        XCTAssertEqual(row(logits).indices.max { row(logits)[$0] < row(logits)[$1] },
                       row(expected).indices.max { row(expected)[$0] < row(expected)[$1] }, "\(fixtureName) top-1 of image \(i)")
      }
    }
  }

  func testNamesParsePrintAndRefuseWhatRepDistillerDoesNot() throws {
    for (given, printed) in [
      ("ResNet8x4", "resnet8x4"), ("resnet32x4", "resnet32x4"), ("resnet56x4", "resnet56x4"), ("WRN_40_2", "wrn_40_2"),
      ("wrn_28_10", "wrn_28_10"), ("VGG19", "vgg19"), ("resnet-s32-d2_2-w64_128", "resnet-s32-d2_2-w64_128"),
      ("resnet-s32-d1_1_1-w64_128_256", "resnet8x4"), ("resnet-s16-d1_1_1-w16_32_64", "resnet8"),
    ] {
      let name = try ModelName(parsing: given)
      XCTAssertEqual(name.description, printed, given)
      XCTAssertEqual(try ModelName(parsing: printed), name, given)
    }
    for (text, why) in [
      ("resnet9x4", "6n+2"), ("wrn_15_2", "6n+4"), ("wrn_16", "wrn_{depth}_{k}"), ("wrn_16_0", "widen factor"),
      ("vgg10", "8, 11, 13, 16 or 19"), ("vggx", "a VGG is"), ("resnet-s0-d1-w16", "stem width"),
    ] {
      XCTAssertThrowsError(try ModelName(parsing: text), text) { error in
        guard case .unknownModel(let message) = error as? ModelError else { return XCTFail("\(text): \(error)") }
        XCTAssertTrue(message.contains(why), "\(text): \(message)")
      }
    }
    // A ×4 ResNet is RepDistiller's whatever shortcut a fresh network would default to.
    guard case .resnet(let d) = try ModelName(parsing: "resnet8x4").resolve(shortcut: .a).network else { return XCTFail() }
    XCTAssertEqual([d.shortcut.rawValue, d.classifierName, "\(d.stem)"], ["B", "fc", "32"])
  }

  /// A given name must describe the file's network; the error names both.
  func testANameThatDisagreesWithTheFileIsRefusedNamingBoth() throws {
    for (held, claimed) in [("wrn_16_2", "wrn_40_2"), ("vgg8", "vgg11"), ("resnet8x4", "resnet8"), ("vgg8", "resnet8x4")] {
      let model = try ModelName(parsing: held).resolve().build().model
      let file = SafetensorsFile(tensors: Dictionary(uniqueKeysWithValues: model.stateDict().map { ($0.name, $0.tensor) }))
      XCTAssertThrowsError(try ModelZoo.loadAny(file, name: claimed)) { error in
        XCTAssertEqual("\(error)", "weights do not match the model: the weights file holds \(held), not \(claimed)")
      }
    }
  }

  /// A file whose names announce a deep network but whose tensors are not its weights is
  /// refused before anything is allocated, and odd layouts are named.
  func testMalformedZooFilesAreClearErrors() throws {
    var tensors: [String: Tensor] = ["conv1.weight": Tensor(zeros: [16, 3, 3, 3]), "fc.weight": Tensor(zeros: [10, 64])]
    for s in 1...3 { for j in 0..<64 { tensors["block\(s).layer.\(j).bn1.weight"] = Tensor(zeros: [1]) } }
    XCTAssertThrowsError(try ModelZoo.loadAny(SafetensorsFile(tensors: tensors))) { error in
      XCTAssertTrue("\(error)".contains("the architecture its names describe (wrn_388_1)"), "\(error)")
    }
    tensors["block3.layer.63.bn1.weight"] = nil
    XCTAssertThrowsError(try ModelZoo.loadAny(SafetensorsFile(tensors: tensors))) { error in
      XCTAssertTrue("\(error)".contains("equally many blocks"), "\(error)")
    }
    let vgg = ["block0.0.weight": Tensor(zeros: [64, 3, 3, 3]), "block1.0.weight": Tensor(zeros: [128, 64, 3, 3])]
    XCTAssertThrowsError(try ModelZoo.architecture(of: SafetensorsFile(tensors: vgg))) { error in
      XCTAssertTrue("\(error)".contains("[1, 1, 0, 0, 0] convolutions are none of RepDistiller's"), "\(error)")
    }
  }

  /// `diswot export`'s module for each family: RepDistiller's classes, the whole
  /// architecture in the `Student` call.
  func testPyTorchExportOfEachFamily() throws {
    let wrn = try PyTorchModule.source(for: try ModelName(parsing: "wrn_40_2").resolve(classCount: 100).build().model)
    XCTAssertTrue(wrn.contains("class Student(WideResNet):"))
    XCTAssertTrue(wrn.contains("super().__init__(depth=40, widen_factor=2, num_classes=100, in_channels=3)"), wrn)
    XCTAssertTrue(wrn.contains("self.convShortcut = nn.Conv2d("))
    let vgg = try PyTorchModule.source(for: try ModelName(parsing: "vgg13").resolve().build().model)
    XCTAssertTrue(vgg.contains("blocks=[[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]],"), vgg)
    XCTAssertTrue(vgg.contains(#"ARCHITECTURE = "vgg13""#))
    let resnet = try PyTorchModule.source(for: try ModelName(parsing: "resnet8x4").resolve().build().model)
    let arguments = ["widths=[64, 128, 256],", #"shortcut="B","#, #"classifier="fc","#, "num_classes=10,", "in_channels=3,", "stem=32,"]
    XCTAssertTrue(resnet.contains(arguments.map { "            " + $0 }.joined(separator: "\n") + "\n        )"), resnet)
  }
}
