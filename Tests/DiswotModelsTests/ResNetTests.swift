import DiswotModels
import DiswotTensor
import DiswotTestSupport
import XCTest

final class ResNetTests: XCTestCase {
  /// ResNet-20, option A, counted by hand:
  /// stem 3·16·9 + BN 32 = 464; stage 1: 6 convs 16·16·9 + 6 BN 32 = 14 016;
  /// stage 2: 16·32·9 + 5·32·32·9 + 6 BN 64 = 51 072; stage 3: 32·64·9 + 5·64·64·9 + 6 BN 128
  /// = 203 520; classifier 64·10 + 10 = 650. Total 269 722 (the paper's "0.27M").
  /// MACs at 32×32: stem 32²·16·27 = 442 368; stage 1: 6·32²·16·144 = 14 155 776;
  /// stage 2: 16²·32·144 + 5·16²·32·288 = 12 976 128; stage 3: 8²·64·288 + 5·8²·64·576
  /// = 12 976 128; classifier 640. Total 40 551 040.
  func testResNet20ParametersAndMACsByHand() throws {
    let model = try ResNetCIFAR(ModelZoo.description(named: "resnet20"))
    XCTAssertEqual(model.parameterCount, 269_722)
    XCTAssertEqual(try model.macs(height: 32, width: 32), 40_551_040)
  }

  /// Option B adds two projections: 16·32 + BN 64 and 32·64 + BN 128 parameters
  /// (2 752), and 16²·32·16 + 8²·64·32 = 262 144 MACs.
  func testOptionBAddsProjectionCosts() throws {
    let model = try ResNetCIFAR(ModelZoo.description(named: "resnet20", shortcut: .b))
    XCTAssertEqual(model.parameterCount, 269_722 + 2_752)
    XCTAssertEqual(try model.macs(height: 32, width: 32), 40_551_040 + 262_144)
  }

  func testFamilyParameterCounts() throws {
    // With n blocks per stage the hand count above generalises to 97 216·n − 21 926
    // (0.27M, 0.46M, 0.66M, 0.85M, 1.7M in He et al. 2016, Table 6).
    for (name, params) in [("resnet32", 464_154), ("resnet44", 658_586), ("resnet56", 853_018), ("resnet110", 1_727_962)] {
      XCTAssertEqual(try ResNetCIFAR(ModelZoo.description(named: name)).parameterCount, params, name)
    }
  }

  func testStateDictNamesArePyTorchs() throws {
    let a = try ResNetCIFAR(ModelZoo.description(named: "resnet20")).stateDict().map(\.name)
    XCTAssertEqual(a.count, 116)  // 19 convs + 19·5 BN tensors (with num_batches_tracked) + 2 classifier tensors
    XCTAssertEqual(Array(a.prefix(7)), [
      "conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked",
      "layer1.0.conv1.weight",
    ])
    XCTAssertEqual(Array(a.suffix(2)), ["linear.weight", "linear.bias"])

    let b = try ResNetCIFAR(ModelZoo.description(named: "resnet20", shortcut: .b, classCount: 100, classifierName: "fc"))
    let names = Set(b.stateDict().map(\.name))
    for expected in ["layer2.0.downsample.0.weight", "layer2.0.downsample.1.running_var", "layer3.0.downsample.1.weight", "fc.weight"] {
      XCTAssertTrue(names.contains(expected), expected)
    }
    XCTAssertFalse(names.contains("layer1.0.downsample.0.weight"))
    XCTAssertEqual(b.stateDict().first { $0.name == "fc.weight" }?.tensor.shape, [100, 64])
  }

  func testLoadStateChecksEveryName() throws {
    let model = try ResNetCIFAR(ModelZoo.description(named: "resnet20"))
    var state = Dictionary(uniqueKeysWithValues: model.stateDict().map { ("module." + $0.name, $0.tensor) })
    state["module.bn1.num_batches_tracked"] = Tensor(zeros: [], value: 5)
    XCTAssertNoThrow(try model.loadState(state))
    XCTAssertEqual(model.bn1.state.batchesTracked.storage, [5])

    var broken = state
    broken["module.layer1.0.conv1.weight"] = nil
    broken["module.extra.weight"] = Tensor(zeros: [1])
    broken["module.linear.weight"] = Tensor(zeros: [10, 32])
    XCTAssertThrowsError(try model.loadState(broken)) { error in
      let message = "\(error)"
      XCTAssertTrue(message.contains("missing: layer1.0.conv1.weight"), message)
      XCTAssertTrue(message.contains("unexpected: extra.weight"), message)
      XCTAssertTrue(message.contains("linear.weight (file [10, 32], model [10, 64])"), message)
    }
  }

  /// NaN or infinite weights are refused, naming the tensor, and leave the model as it was
  /// (they used to load and evaluate to a plausible-looking 10 % accuracy).
  func testLoadStateRefusesNonFiniteWeightsNamingTheTensor() throws {
    let model = try ResNetCIFAR(ModelZoo.description(named: "resnet20"))
    let before = model.stateDict().map(\.tensor)
    for bad in [Float.nan, .infinity, -.infinity] {
      var state = Dictionary(uniqueKeysWithValues: model.stateDict().map { ($0.name, $0.tensor) })
      state["layer2.1.bn1.running_var"]!.storage[7] = bad
      XCTAssertThrowsError(try model.loadState(state)) { error in
        guard case .nonFiniteWeights(let message) = error as? ModelError else { return XCTFail("\(error)") }
        XCTAssertTrue(message.contains("'layer2.1.bn1.running_var'") && message.contains("element 7 of 32"), message)
      }
    }
    XCTAssertEqual(model.stateDict().map(\.tensor), before, "nothing was loaded")
  }

  func testInferArchitectureFromStateDict() throws {
    let description = try ModelZoo.description(named: "resnet32", shortcut: .b, classCount: 100, classifierName: "fc")
    let state = Dictionary(uniqueKeysWithValues: try ResNetCIFAR(description).stateDict().map { ($0.name, $0.tensor) })
    XCTAssertEqual(try ModelZoo.inferResNet(from: state), description)
  }

  func testAbsurdDescriptionsAreRejected() {
    XCTAssertThrowsError(try ResNetCIFAR(ResNetDescription(blocksPerStage: [1, 1, 1], widths: [16, 1_000_000_000, 64])))
    XCTAssertThrowsError(try ResNetCIFAR(ResNetDescription(blocksPerStage: [1, 1], widths: [16, 32, 64])))
    XCTAssertThrowsError(try ResNetCIFAR(ResNetDescription(blocksPerStage: [0, 1, 1], widths: [16, 32, 64])))
    XCTAssertThrowsError(try ResNetCIFAR(ResNetDescription(blocksPerStage: [1, 1, 1], widths: [16, 33, 64])))
    XCTAssertThrowsError(try ModelZoo.description(named: "resnet21"))
    XCTAssertThrowsError(try ModelZoo.description(named: "vgg16"))
  }

  /// Forward shapes, and inference mode leaves batch-norm statistics untouched.
  func testForwardShapes() throws {
    let model = try ResNetCIFAR(ModelZoo.description(named: "resnet20", shortcut: .b))
    var rng = SeededGenerator(seed: 7)
    model.initialize(.kaimingNormalFanOut, using: &rng)
    let x = Tensor.normal([2, 3, 32, 32], using: &rng)
    let out = try model.classify(x, mode: .training(updateRunningStatistics: false))
    XCTAssertEqual(out.features.shape, [2, 64, 8, 8])
    XCTAssertEqual(out.pooled.shape, [2, 64])
    XCTAssertEqual(out.logits.shape, [2, 10])
    XCTAssertTrue(out.logits.storage.allSatisfy(\.isFinite))
    XCTAssertThrowsError(try model.classify(Tensor(zeros: [2, 1, 32, 32]), mode: .inference))
  }
}
