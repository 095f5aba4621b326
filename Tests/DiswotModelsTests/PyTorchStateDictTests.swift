import DiswotModels
import DiswotTensor
import DiswotTestSupport
import Foundation
import XCTest

/// Plain PyTorch state dicts of every family, saved exactly as the README's recipe does
/// (`save_file(model.state_dict(), …)`: no metadata, I64 `num_batches_tracked` included),
/// written by Fixtures/pytorch/make_fixtures.py from reference-style PyTorch modules that
/// ran three training-mode batches.
final class PyTorchStateDictTests: XCTestCase {
  /// The fixture networks, as make_fixtures.py builds them.
  static let families: [(name: String, build: @Sendable () throws -> any Classifier)] = [
    ("resnet-a", { try ResNetCIFAR(ResNetDescription(blocksPerStage: [1, 2, 1], widths: [4, 8, 16], shortcut: .a)) }),
    ("resnet-b", {
      try ResNetCIFAR(ResNetDescription(blocksPerStage: [1, 1, 2], widths: [8, 16, 24], shortcut: .b, classifierName: "fc"))
    }),
    ("nasbench201", {
      try NASBench201Network(NASBench201Description(
        genotype: NASBench201Genotype(
          string: "|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"),
        channels: 4, cellsPerStage: 1))
    }),
    ("mobilenetv2", {
      try MobileNetV2Network(MobileNetV2Description(
        stages: [
          .init(blocks: [.init(expansion: 1, kernel: 3)], width: 8, stride: 1),
          .init(blocks: [.init(expansion: 6, kernel: 5), .init(expansion: 3, kernel: 7)], width: 12, stride: 2),
        ],
        stemWidth: 8, stemStride: 1, lastWidth: 32))
    }),
  ]

  private func fixture(_ name: String) throws -> (bytes: [UInt8], file: SafetensorsFile) {
    let url = try XCTUnwrap(
      Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures/pytorch"), name)
    let bytes = [UInt8](try Data(contentsOf: url))
    return (bytes, try SafetensorsFile.decode(bytes, source: url.lastPathComponent))
  }

  /// Loads as saved, counters included, and computes PyTorch's logits.
  func testEveryFamilyLoadsAPlainPyTorchStateDictAndMatchesItsLogits() throws {
    for (name, build) in Self.families {
      let file = try fixture(name).file
      XCTAssertTrue(file.metadata.isEmpty, name)
      XCTAssertTrue(file.dtypes.contains { $0.key.hasSuffix("num_batches_tracked") && $0.value == .i64 }, name)
      let model = try build()
      try model.loadState(file.tensors)
      let counters = model.stateDict().filter { $0.name.hasSuffix(".num_batches_tracked") }
      XCTAssertFalse(counters.isEmpty, name)
      for (counter, value) in counters { XCTAssertEqual(value.storage, [3], "\(name) \(counter)") }

      let io = try fixture(name + "-io").file
      let logits = try model.forward(try XCTUnwrap(io.tensors["input"]), mode: .inference)
      assertClose(logits, try XCTUnwrap(io.tensors["logits"]), abs: 2e-5, rel: 1e-4)
    }
  }

  /// What diswot writes for a loaded state dict is the very file PyTorch wrote: same
  /// names, dtypes (I64 counters), shapes, values and layout, so PyTorch's
  /// `load_state_dict(strict=True)` takes it.
  func testWritingTheStateBackReproducesPyTorchsFileByteForByte() throws {
    for (name, build) in Self.families {
      let (bytes, file) = try fixture(name)
      let model = try build()
      try model.loadState(file.tensors)
      XCTAssertEqual(
        try SafetensorsFile.encode(tensors: model.stateDict(), metadata: [:], dtypes: model.stateDtypes), bytes, name)
    }
  }

  /// ResNets need no metadata at all: the architecture is read off the names and shapes.
  func testResNetArchitectureIsReadOffAPlainStateDict() throws {
    for (name, build) in Self.families.prefix(2) {
      let file = try fixture(name).file
      let expected = try XCTUnwrap(try build() as? ResNetCIFAR).description
      let model = try XCTUnwrap(try ModelZoo.loadAny(file) as? ResNetCIFAR)
      XCTAssertEqual(model.description, expected, name)
    }
  }

  func testAFreshModelCountsNoBatchesAndTrainingStepsCountOne() throws {
    let model = try Self.families[2].build()
    var rng = SeededGenerator(seed: 1)
    model.initialize(.kaimingNormalFanOut, using: &rng)
    func counters() -> Set<[Float]> {
      Set(model.stateDict().filter { $0.name.hasSuffix("num_batches_tracked") }.map(\.tensor.storage))
    }
    XCTAssertEqual(counters(), [[0]])
    let x = Tensor.normal([2, 3, 8, 8], std: 1, using: &rng)
    _ = try model.forward(x, mode: .training(updateRunningStatistics: false))
    _ = try model.forward(x, mode: .inference)
    XCTAssertEqual(counters(), [[0]], "passes that leave the running statistics alone do not count")
    _ = try model.forward(x, mode: .trainingStep)
    _ = try model.forward(x, mode: .trainingStep)
    XCTAssertEqual(counters(), [[2]])
  }

  /// Files without counters (older diswot files, the shared teachers) load as 0; a counter
  /// that is not a count is refused like any other mismatch.
  func testCountersAreOptionalButMustBeCounts() throws {
    let (name, build) = Self.families[0]
    var tensors = try fixture(name).file.tensors
    let model = try build()
    try model.loadState(tensors.filter { !$0.key.hasSuffix("num_batches_tracked") })
    XCTAssertEqual(model.stateDict().first { $0.name == "bn1.num_batches_tracked" }?.tensor.storage, [0])

    tensors["bn1.num_batches_tracked"] = Tensor(zeros: [], value: 2.5)
    tensors["layer1.0.bn2.num_batches_tracked"] = Tensor(zeros: [], value: -1)
    XCTAssertThrowsError(try model.loadState(tensors)) { error in
      XCTAssertEqual(
        error as? ModelError,
        .stateMismatch(
          "invalid: bn1.num_batches_tracked (2.5 is not a count), layer1.0.bn2.num_batches_tracked (-1.0 is not a count)"))
    }
    tensors["bn1.num_batches_tracked"] = Tensor(zeros: [1], value: 2)
    tensors["layer1.0.bn2.num_batches_tracked"] = nil
    tensors["bn9.num_batches_tracked"] = Tensor(zeros: [], value: 1)
    XCTAssertThrowsError(try model.loadState(tensors)) { error in
      XCTAssertEqual(
        error as? ModelError,
        .stateMismatch("unexpected: bn9.num_batches_tracked; wrong shape: bn1.num_batches_tracked (file [1], model [])"))
    }
  }
}
