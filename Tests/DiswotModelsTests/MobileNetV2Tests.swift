import DiswotModels
import DiswotTensor
import DiswotTestSupport
import Foundation
import XCTest

final class MobileNetV2Tests: XCTestCase {
  typealias Block = MobileNetV2Description.Block
  typealias Stage = MobileNetV2Description.Stage

  /// Stem 3→8 at stride 1, one stage of one block (16 wide, stride 2, expansion 6,
  /// kernel 5), head 16→32, 10 classes.
  let tiny = MobileNetV2Description(
    stages: [Stage(blocks: [Block(expansion: 6, kernel: 5)], width: 16, stride: 2)],
    stemWidth: 8, stemStride: 1, lastWidth: 32)

  /// The PyTorch fixture's network: torchvision blocks with a stride-1 stem, depthwise
  /// kernels 3, 5, 7, 3, and residual blocks 1 (expansion 1) and 3.
  let fixture = MobileNetV2Description(
    stages: [
      Stage(blocks: [Block(expansion: 1, kernel: 3)], width: 8, stride: 1),
      Stage(blocks: [Block(expansion: 6, kernel: 5), Block(expansion: 6, kernel: 7)], width: 16, stride: 2),
      Stage(blocks: [Block(expansion: 3, kernel: 3)], width: 24, stride: 2),
    ],
    stemWidth: 8, stemStride: 1, lastWidth: 64)

  // MARK: Parameters and MACs

  /// Parameters: stem 3·8·9 + BN 16 = 232; block (hidden 8·6 = 48): expand 8·48 + 96,
  /// depthwise 48·25 + 96, project 48·16 + 32 = 2 576; head 16·32 + 64 = 576; classifier
  /// 32·10 + 10 = 330. Total 3 714.
  /// MACs at 32×32: stem 32²·8·27 = 221 184; expand 32²·48·8 = 393 216; depthwise to
  /// 16×16: 16²·48·25 = 307 200; project 16²·16·48 = 196 608; head 16²·32·16 = 131 072;
  /// classifier 320. Total 1 249 600.
  func testTinyParametersAndMACsByHand() throws {
    let model = try MobileNetV2Network(tiny)
    XCTAssertEqual(model.parameterCount, 3_714)
    XCTAssertEqual(tiny.parameterCount, 3_714)
    XCTAssertEqual(try model.macs(height: 32, width: 32), 1_249_600)
    XCTAssertEqual(try model.outputShapeAndMACs(input: [2, 3, 32, 32]).macs, 2 * 1_249_600)
  }

  /// torchvision's `mobilenet_v2()`: 3 504 872 parameters and 300 774 272 MACs at 224×224
  /// (convolutions and the classifier, counted by forward hooks on torchvision's model);
  /// with a stride-1 stem and 10 classes, 2 236 682 and 24 461 312 at 32×32.
  func testStandardNetworkMatchesTorchvision() throws {
    let imageNet = try MobileNetV2Network(.standard(classCount: 1000))
    XCTAssertEqual(imageNet.parameterCount, 3_504_872)
    XCTAssertEqual(try imageNet.macs(height: 224, width: 224), 300_774_272)
    XCTAssertEqual(imageNet.description.name, "mobilenetv2")
    XCTAssertEqual(imageNet.stateDict().count, 314)  // 262 tensors and 52 num_batches_tracked
    let cifar = try MobileNetV2Network(.standard(stemStride: 1))
    XCTAssertEqual(cifar.parameterCount, 2_236_682)
    XCTAssertEqual(try cifar.macs(height: 32, width: 32), 24_461_312)
  }

  func testDescriptionCountMatchesBuiltModel() throws {
    var rng = SeededGenerator(seed: 2)
    for _ in 0..<20 {
      let stages = (0..<(1 + Int(rng.next() % 4))).map { _ in
        Stage(blocks: (0..<(1 + Int(rng.next() % 3))).map { _ in
                Block(expansion: [1, 3, 6].randomElement(using: &rng)!, kernel: [3, 5, 7].randomElement(using: &rng)!)
              },
              width: 4 + Int(rng.next() % 20), stride: 1 + Int(rng.next() % 2))
      }
      let d = MobileNetV2Description(stages: stages, stemWidth: 8, stemStride: 1, lastWidth: 40, classCount: 7)
      XCTAssertEqual(try MobileNetV2Network(d).parameterCount, d.parameterCount, d.layout)
    }
  }

  // MARK: State dict

  /// torchvision's names: `features.0` stem, `features.{i}.conv.*` blocks, the head after
  /// them, `classifier.1`; an expansion-1 block has no expand convolution, so its
  /// depthwise is `conv.0.*`, its projection `conv.1`, its BN `conv.2`.
  func testStateDictNamesAreTorchvisions() throws {
    let names = try MobileNetV2Network(fixture).stateDict().map(\.name)
    func bn(_ prefix: String) -> [String] {
      ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"].map { prefix + "." + $0 }
    }
    XCTAssertEqual(Array(names.prefix(37)),
      ["features.0.0.weight"] + bn("features.0.1")
      + ["features.1.conv.0.0.weight"] + bn("features.1.conv.0.1")
      + ["features.1.conv.1.weight"] + bn("features.1.conv.2")
      + ["features.2.conv.0.0.weight"] + bn("features.2.conv.0.1")
      + ["features.2.conv.1.0.weight"] + bn("features.2.conv.1.1")
      + ["features.2.conv.2.weight"] + bn("features.2.conv.3")
      + ["features.3.conv.0.0.weight"])
    XCTAssertEqual(Array(names.suffix(8)), ["features.5.0.weight"] + bn("features.5.1") + ["classifier.1.weight", "classifier.1.bias"])
    let shapes = Dictionary(uniqueKeysWithValues: try MobileNetV2Network(fixture).stateDict().map { ($0.name, $0.tensor.shape) })
    XCTAssertEqual(shapes["features.1.conv.0.0.weight"], [8, 1, 3, 3])
    XCTAssertEqual(shapes["features.2.conv.1.0.weight"], [48, 1, 5, 5])
    XCTAssertEqual(shapes["features.3.conv.1.0.weight"], [96, 1, 7, 7])
    XCTAssertEqual(shapes["features.4.conv.2.weight"], [24, 48, 1, 1])
  }

  // MARK: Forward passes

  /// The standard layout at batch 2: a stride-1 stem on 32×32 and 64×64 inputs (total
  /// stride 16), a stride-2 stem on 64×64 (total stride 32).
  func testForwardShapes() throws {
    var rng = SeededGenerator(seed: 4)
    for (stemStride, size, spatial) in [(1, 32, 2), (1, 64, 4), (2, 64, 2)] {
      let model = try MobileNetV2Network(.standard(stemStride: stemStride))
      model.initialize(.kaimingNormalFanOut, using: &rng)
      let out = try model.classify(Tensor.normal([2, 3, size, size], using: &rng), mode: .training(updateRunningStatistics: false))
      XCTAssertEqual(out.features.shape, [2, 1280, spatial, spatial])
      XCTAssertEqual(out.pooled.shape, [2, 1280])
      XCTAssertEqual(out.logits.shape, [2, 10])
      XCTAssertTrue(out.logits.storage.allSatisfy(\.isFinite))
      XCTAssertTrue(out.features.storage.allSatisfy { $0 >= 0 && $0 <= 6 }, "features follow a ReLU6")
    }
  }

  /// With the projection's BN zeroed the block's branch is zero: a residual block (stride
  /// 1, in == out) returns its input, any other block zeros.
  func testResidualOnlyWhenShapesAllow() throws {
    var rng = SeededGenerator(seed: 6)
    let x = Tensor.normal([1, 8, 6, 6], using: &rng)
    for (outChannels, stride, residual) in [(8, 1, true), (8, 2, false), (16, 1, false)] {
      let block = try InvertedResidual(inChannels: 8, outChannels: outChannels, stride: stride, expansion: 3, kernel: 3)
      block.initialize(.kaimingNormalFanOut, using: &rng)
      block.projectBN.state.weight = Tensor(zeros: [outChannels])
      XCTAssertEqual(block.residual, residual)
      let y = try block.forward(x, mode: .inference)
      if residual { XCTAssertEqual(y, x) } else { XCTAssertTrue(y.storage.allSatisfy { $0 == 0 }) }
    }
  }

  func testReLU6Kernel() {
    var x = tensor([5], [-1, 0, 3, 6, 7.5])
    relu6_forward(&x)
    XCTAssertEqual(x.storage, [0, 0, 3, 6, 6])
  }

  /// Every ReLU6 reaches the observer: stem, expand, depthwise, head = 4; batch norms 5.
  func testObserverSeesEveryReLU6() throws {
    final class Counter: ForwardObserver {
      var maxima: [Float] = [], batchNorms = 0
      func observeActivation(_ output: Tensor) { maxima.append(output.storage.max()!) }
      func observeBatchNorm(variance: [Float]) { batchNorms += 1 }
    }
    let model = try MobileNetV2Network(tiny)
    var rng = SeededGenerator(seed: 8)
    model.initialize(.kaimingNormalFanOut, using: &rng)
    let counter = Counter()
    _ = try model.classify(Tensor.normal([2, 3, 8, 8], std: 10, using: &rng),
                           mode: ForwardMode(batchNorm: .training(updateRunningStatistics: false), observer: counter))
    XCTAssertEqual(counter.maxima.count, 4)
    XCTAssertTrue(counter.maxima.allSatisfy { $0 <= 6 })
    XCTAssertEqual(counter.batchNorms, 5)
  }

  func testInitializationReachesEveryParametricLayer() throws {
    let model = try MobileNetV2Network(fixture)
    var rng = SeededGenerator(seed: 5)
    model.initialize(.kaimingNormalFanOut, using: &rng)
    for (name, t) in model.stateDict() where name.hasSuffix("weight") {
      XCTAssertTrue(t.storage.contains { $0 != 0 }, "\(name) was not initialised")
    }
  }

  // MARK: Descriptions

  func testCodableNameAndLayout() throws {
    XCTAssertEqual(fixture.layout, "8s1:e1k3_16s2:e6k5,e6k7_24s2:e3k3")
    XCTAssertEqual(fixture.name, "mobilenetv2-8s1:e1k3_16s2:e6k5,e6k7_24s2:e3k3")
    XCTAssertTrue(MobileNetV2Description.standard(stemStride: 1).name.hasPrefix("mobilenetv2-16s1:e1k3_24s2:e6k3,e6k3_"))
    let data = try JSONEncoder().encode(fixture)
    XCTAssertEqual(try JSONDecoder().decode(MobileNetV2Description.self, from: data), fixture)
    XCTAssertEqual(try MobileNetV2Network(fixture).metadata["stages"], fixture.layout)
  }

  func testAbsurdDescriptionsAreRejected() {
    func with(_ change: (inout MobileNetV2Description) -> Void) -> MobileNetV2Description {
      var d = tiny
      change(&d)
      return d
    }
    let block = Block(expansion: 16, kernel: 3)
    for d in [
      with { $0.stages = [] },
      with { $0.stages[0].blocks = [] },
      with { $0.stages[0].width = 0 },
      with { $0.stages[0].width = 5000 },
      with { $0.stages[0].stride = 3 },
      with { $0.stemStride = 0 },
      with { $0.stemWidth = 0 },
      with { $0.lastWidth = 100_000 },
      with { $0.stages[0].blocks[0].expansion = 0 },
      with { $0.stages[0].blocks[0].expansion = 17 },
      with { $0.stages[0].blocks[0].kernel = 4 },
      with { $0.stages[0].blocks[0].kernel = 17 },
      with { $0.classCount = 0 },
      with { $0.inputChannels = 0 },
      // every field in range, but about 4·10¹⁰ parameters
      with { $0.stages = Array(repeating: Stage(blocks: Array(repeating: block, count: 32), width: 4096, stride: 1), count: 16) },
    ] {
      XCTAssertThrowsError(try MobileNetV2Network(d), d.layout) { error in
        XCTAssertTrue("\(error)".contains("invalid architecture"), "\(error)")
      }
    }
  }

  func testInputTooSmallOrWrongChannelsIsAnError() throws {
    let model = try MobileNetV2Network(tiny)
    XCTAssertThrowsError(try model.classify(Tensor(zeros: [1, 1, 8, 8]), mode: .inference))
    XCTAssertThrowsError(try model.macs(height: 0, width: 8))
  }

  // MARK: PyTorch

  /// The `fixture` network (depthwise kernels 5 and 7, stride-1 stem) written in PyTorch
  /// from the paper with torchvision's names, random weights and BN statistics, run on
  /// 3·N(0, 1) inputs of [2, 3, 16, 16] so that some stem ReLU6 outputs clip at 6:
  /// Fixtures/mobilenetv2.safetensors, written by Fixtures/make_mobilenetv2.py.
  func testMatchesPyTorchReference() throws {
    let url = try XCTUnwrap(Bundle.module.url(forResource: "mobilenetv2", withExtension: "safetensors", subdirectory: "Fixtures"))
    let file = try SafetensorsFile.read(path: url.path)
    XCTAssertEqual(file.metadata["stages"], fixture.layout)
    let model = try MobileNetV2Network(fixture)
    try model.loadState(file.tensors.filter { !$0.key.hasPrefix("fixture.") })
    let x = try XCTUnwrap(file.tensors["fixture.input"])
    let inference = try model.classify(x, mode: .inference)
    assertClose(inference.logits, try XCTUnwrap(file.tensors["fixture.logits.inference"]), abs: 1e-5, rel: 1e-5)
    assertClose(inference.features, try XCTUnwrap(file.tensors["fixture.features.inference"]), abs: 1e-5, rel: 1e-5)
    let training = try model.classify(x, mode: .training(updateRunningStatistics: false))
    assertClose(training.logits, try XCTUnwrap(file.tensors["fixture.logits.training"]), abs: 1e-5, rel: 1e-5)
  }
}
