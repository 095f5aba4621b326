import DiswotModels
import DiswotTensor
import DiswotTestSupport
import Foundation
import XCTest

final class NASBench201Tests: XCTestCase {
  /// The best cell of the benchmark (on CIFAR-100; NATS-Bench's size search space is built on it).
  let best = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"

  // MARK: Genotypes

  func testParseRenderAndOps() throws {
    let g = try NASBench201Genotype(string: best)
    XCTAssertEqual(g.ops, [.conv3x3, .conv3x3, .conv3x3, .skipConnect, .conv3x3, .conv3x3])
    XCTAssertEqual(g.string, best)
    XCTAssertEqual("\(g)", best)
    XCTAssertEqual(try NASBench201Genotype(ops: g.ops), g)
    let mixed = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|none~2|"
    XCTAssertEqual(try NASBench201Genotype(string: mixed).ops, [.avgPool3x3, .conv1x1, .skipConnect, .conv1x1, .skipConnect, .none])
    XCTAssertEqual(try NASBench201Genotype(string: mixed).string, mixed)
  }

  /// Base 5, edge 1←0 most significant, digits none 0 … avg_pool_3x3 4:
  /// best = [3, 3, 3, 1, 3, 3]₅ = 3·3125 + 3·625 + 3·125 + 25 + 15 + 3 = 11 668.
  func testIndexIsBase5OverEdges() throws {
    XCTAssertEqual(try NASBench201Genotype(string: best).index, 11_668)
    XCTAssertEqual(try NASBench201Genotype(index: 11_668).string, best)
    XCTAssertEqual(try NASBench201Genotype(index: 0).string, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    XCTAssertEqual(try NASBench201Genotype(index: 1).ops.last, .skipConnect)
    XCTAssertEqual(try NASBench201Genotype(index: 3_125).ops.first, .skipConnect)
    XCTAssertEqual(try NASBench201Genotype(index: 15_624).ops, Array(repeating: .avgPool3x3, count: 6))
    XCTAssertEqual(NASBench201Operation.allCases.map(\.rawValue),
                   ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"])
  }

  func testEveryIndexRoundTrips() throws {
    var strings = Set<String>()
    for index in 0..<NASBench201Genotype.count {
      let g = try NASBench201Genotype(index: index)
      XCTAssertEqual(g.index, index)
      strings.insert(g.string)
      if index % 997 == 0 { XCTAssertEqual(try NASBench201Genotype(string: g.string), g) }
    }
    XCTAssertEqual(strings.count, 15_625)
  }

  func testMalformedGenotypesNameTheProblem() {
    func message(_ s: String) -> String {
      do { _ = try NASBench201Genotype(string: s); return "accepted" } catch { return "\(error)" }
    }
    let badOp = message("|nor_conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    XCTAssertTrue(badOp.contains("unknown operation 'nor_conv_5x5'"), badOp)
    XCTAssertTrue(badOp.contains("valid: none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3"), badOp)
    XCTAssertTrue(message("|none~0|+|none~0|none~1|").contains("expected 3"))
    XCTAssertTrue(message("|none~0|+|none~0|+|none~0|none~1|none~2|").contains("node 2 must have 2 input(s)"))
    XCTAssertTrue(message("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|none~3|").contains("node 3 must have 3"))
    XCTAssertTrue(message("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|").contains("must come from node 0"))
    XCTAssertTrue(message("|none~0|+|none~1|none~0|+|none~0|none~1|none~2|").contains("must come from node 0"))
    XCTAssertTrue(message("none~0|+|none~0|none~1|+|none~0|none~1|none~2|").contains("|op~0|"))
    XCTAssertTrue(message("|none0|+|none~0|none~1|+|none~0|none~1|none~2|").contains("op~index"))
    XCTAssertTrue(message("|none~x|+|none~0|none~1|+|none~0|none~1|none~2|").contains("op~index"))
    XCTAssertTrue(message("").contains("expected 3"))
    XCTAssertTrue(message(best + " ").contains("node 3"))
    XCTAssertThrowsError(try NASBench201Genotype(index: -1))
    XCTAssertThrowsError(try NASBench201Genotype(index: 15_625))
    XCTAssertThrowsError(try NASBench201Genotype(ops: [.none]))
  }

  func testCodableAsString() throws {
    let d = NASBench201Description(genotype: try NASBench201Genotype(string: best), classCount: 100)
    let json = try JSONEncoder().encode(d)
    XCTAssertTrue(String(decoding: json, as: UTF8.self).contains("nor_conv_3x3~0"))
    XCTAssertEqual(try JSONDecoder().decode(NASBench201Description.self, from: json), d)
    let broken = String(decoding: json, as: UTF8.self).replacingOccurrences(of: "skip_connect", with: "skip")
    XCTAssertThrowsError(try JSONDecoder().decode(NASBench201Description.self, from: Data(broken.utf8)))
  }

  // MARK: Parameters and MACs

  /// Hand counts for C = 16, N = 5, 10 classes, 32×32 (convolutions have no bias, every
  /// BN has weight and bias).
  /// Fixed part, 73 306 parameters: stem 3·16·9 + 32 = 464; reduction 16→32: conv_a
  /// 16·32·9 + 64, conv_b 32·32·9 + 64, downsample 16·32 = 14 464; reduction 32→64: 57 600;
  /// lastact 128; classifier 650.
  /// Each nor_conv_3x3 edge adds 9c² + 2c per cell: 2 336 (c = 16), 9 280 (32), 36 992 (64),
  /// so 5 cells × (2 336 + 9 280 + 36 992) = 243 040 per 3×3 edge; nor_conv_1x1 adds
  /// c² + 2c: 5 × (288 + 1 088 + 4 224) = 28 000 per edge.
  /// MACs: stem 32²·16·27 = 442 368; each reduction 1 179 648 + 2 359 296 + 131 072 =
  /// 3 670 016; classifier 640: fixed 7 783 040. Every 3×3 edge costs 2 359 296 in every
  /// stage (32²·16·144 = 16²·32·288 = 8²·64·576), 15 cells: 35 389 440 per edge; every
  /// 1×1 edge 262 144 per cell, 3 932 160 per edge.
  /// Cross-checked against AutoDL-Projects' `TinyNetwork` and `get_model_infos`: its
  /// FLOPs are ours plus 10 (the classifier's bias adds), its "MB" are 10⁶ parameters.
  func testParametersAndMACsByHand() throws {
    let cases: [(String, Int, Int)] = [
      // skip/none only: the fixed part (benchmark: 0.073306 MB, 7.78305 MFLOPs).
      ("|skip_connect~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|", 73_306, 7_783_040),
      // five 3×3 edges: 73 306 + 5·243 040 = 1 288 506; 7 783 040 + 5·35 389 440 = 184 730 240.
      (best, 1_288_506, 184_730_240),
      // three 3×3 edges (NATS-Bench issue #36 reports 0.802426 MB, 113.95137 MFLOPs).
      ("|skip_connect~0|+|none~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|", 802_426, 113_951_360),
      // six 3×3 edges: the benchmark's largest network, 1.531546 MB, 220.11969 MFLOPs.
      ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|", 1_531_546, 220_119_680),
      // six 1×1 edges: 73 306 + 6·28 000; 7 783 040 + 6·3 932 160.
      ("|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|", 241_306, 31_376_000),
    ]
    for (string, params, macs) in cases {
      let description = NASBench201Description(genotype: try NASBench201Genotype(string: string))
      let model = try NASBench201Network(description)
      XCTAssertEqual(model.parameterCount, params, string)
      XCTAssertEqual(description.parameterCount, params, string)
      XCTAssertEqual(try model.macs(height: 32, width: 32), macs, string)
    }
  }

  func testDescriptionCountMatchesBuiltModel() throws {
    var rng = SeededGenerator(seed: 11)
    for _ in 0..<20 {
      let g = try NASBench201Genotype(index: Int(rng.next() % 15_625))
      let d = NASBench201Description(
        genotype: g, channels: 1 + Int(rng.next() % 12), cellsPerStage: 1 + Int(rng.next() % 3),
        classCount: 1 + Int(rng.next() % 100), inputChannels: 1 + Int(rng.next() % 4))
      XCTAssertEqual(try NASBench201Network(d).parameterCount, d.parameterCount, d.name)
    }
  }

  // MARK: State dict

  /// Names as AutoDL-Projects' `TinyNetwork(16, 5, best, 10).state_dict()` lists them:
  /// edges keep their `layers` index even when another edge has no state (layers.3, the
  /// skip, is absent), reduction blocks are cells 5 and 11.
  func testStateDictNamesAreTheReferences() throws {
    let model = try NASBench201Network(NASBench201Description(genotype: try NASBench201Genotype(string: best)))
    let names = model.stateDict().map(\.name)
    func bn(_ prefix: String) -> [String] {
      ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"].map { prefix + "." + $0 }
    }
    // stem 6 + 15 cells × 5 conv edges × 6 + 2 reductions × 13 + lastact 5 + classifier 2
    XCTAssertEqual(names.count, 489)
    XCTAssertEqual(Array(names.prefix(20)),
      ["stem.0.weight"] + bn("stem.1")
      + ["cells.0.layers.0.op.1.weight"] + bn("cells.0.layers.0.op.2")
      + ["cells.0.layers.1.op.1.weight"] + bn("cells.0.layers.1.op.2")
      + ["cells.0.layers.2.op.1.weight", "cells.0.layers.2.op.2.weight"])
    XCTAssertEqual(names[24], "cells.0.layers.4.op.1.weight")
    let reduction = names.drop(while: { !$0.hasPrefix("cells.5.") }).prefix(while: { $0.hasPrefix("cells.5.") })
    XCTAssertEqual(Array(reduction),
      ["cells.5.conv_a.op.1.weight"] + bn("cells.5.conv_a.op.2") + ["cells.5.conv_b.op.1.weight"]
      + bn("cells.5.conv_b.op.2") + ["cells.5.downsample.1.weight"])
    XCTAssertEqual(Array(names.suffix(10)),
      ["cells.16.layers.5.op.2.running_mean", "cells.16.layers.5.op.2.running_var", "cells.16.layers.5.op.2.num_batches_tracked"]
      + bn("lastact.0") + ["classifier.weight", "classifier.bias"])
    XCTAssertFalse(names.contains { $0.contains("layers.3") })
    XCTAssertTrue(names.contains("cells.11.downsample.1.weight"))
    let shapes = Dictionary(uniqueKeysWithValues: model.stateDict().map { ($0.name, $0.tensor.shape) })
    XCTAssertEqual(shapes["cells.5.conv_a.op.1.weight"], [32, 16, 3, 3])
    XCTAssertEqual(shapes["cells.11.downsample.1.weight"], [64, 32, 1, 1])
    XCTAssertEqual(shapes["cells.16.layers.5.op.1.weight"], [64, 64, 3, 3])
    XCTAssertEqual(shapes["classifier.weight"], [10, 64])
  }

  // MARK: Forward passes

  /// 50 seeded random genotypes at the benchmark size (C = 16, N = 5), batch 2, 32×32.
  func testRandomGenotypesRunAndStayFinite() throws {
    var rng = SeededGenerator(seed: 201)
    let x = Tensor.normal([2, 3, 32, 32], using: &rng)
    for _ in 0..<50 {
      let g = try NASBench201Genotype(index: Int(rng.next() % UInt64(NASBench201Genotype.count)))
      let model = try NASBench201Network(NASBench201Description(genotype: g, cellsPerStage: 5))
      model.initialize(.kaimingNormalFanOut, using: &rng)
      let out = try model.classify(x, mode: .training(updateRunningStatistics: false))
      XCTAssertEqual(out.features.shape, [2, 64, 8, 8], g.string)
      XCTAssertEqual(out.pooled.shape, [2, 64], g.string)
      XCTAssertEqual(out.logits.shape, [2, 10], g.string)
      XCTAssertTrue(out.features.storage.allSatisfy(\.isFinite) && out.logits.storage.allSatisfy(\.isFinite), g.string)
      XCTAssertTrue(out.features.storage.allSatisfy { $0 >= 0 }, "features follow a ReLU")
    }
  }

  /// All-`none` into node 3 cuts every cell off: each returns zeros, the reduction blocks
  /// map zeros to zeros (ReLU, convolution, batch-norm bias 0, sum), and so do lastact's
  /// batch norm (on batch statistics) and ReLU. The pass must still run.
  func testDisconnectedCellGivesZeroFeatures() throws {
    let g = try NASBench201Genotype(string: "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|none~0|none~1|none~2|")
    let model = try NASBench201Network(NASBench201Description(genotype: g, cellsPerStage: 2))
    var rng = SeededGenerator(seed: 3)
    model.initialize(.kaimingNormalFanOut, using: &rng)
    let out = try model.classify(Tensor.normal([2, 3, 16, 16], using: &rng), mode: .training(updateRunningStatistics: false))
    XCTAssertEqual(out.features.shape, [2, 64, 4, 4])
    XCTAssertTrue(out.features.storage.allSatisfy { $0 == 0 })
    XCTAssertEqual(out.logits.storage, model.classifier.bias.storage + model.classifier.bias.storage)
  }

  /// One channel, genotype node1 = x, node2 = avgpool(x), node3 = node1 + node2
  /// (`|skip_connect~0|+|avg_pool_3x3~0|none~1|+|none~0|skip_connect~1|skip_connect~2|`):
  /// the cell returns x + avgpool(x) with padding not counted, 4·m[i] + m[j] as in
  /// PoolingTests (m = 0.5, 1, 2, 2.5) added to the plane 4i + j.
  func testCellSumsItsEdges() throws {
    let g = try NASBench201Genotype(string: "|skip_connect~0|+|avg_pool_3x3~0|none~1|+|none~0|skip_connect~1|skip_connect~2|")
    let cell = try NASBench201Cell(genotype: g, channels: 1)
    let x = tensor([1, 1, 4, 4], (0..<16).map(Float.init))
    let y = try cell.forward(x, mode: .inference)
    let m: [Float] = [0.5, 1, 2, 2.5]
    assertClose(y.storage, (0..<16).map { Float($0) + 4 * m[$0 / 4] + m[$0 % 4] })
    XCTAssertEqual(try cell.outputShapeAndMACs(input: [1, 1, 4, 4]).macs, 0)
    XCTAssertThrowsError(try cell.forward(Tensor(zeros: [1, 2, 4, 4]), mode: .inference))
  }

  /// A convolution edge rectifies a copy: node 3 = conv(relu(x)) + x keeps x's negative
  /// values. 1×1 weight 2, BN at its initial state (x / sqrt(1 + 1e-5) at inference).
  func testConvolutionEdgeDoesNotRectifyItsInputNode() throws {
    let g = try NASBench201Genotype(string: "|nor_conv_1x1~0|+|skip_connect~0|none~1|+|none~0|skip_connect~1|skip_connect~2|")
    let cell = try NASBench201Cell(genotype: g, channels: 1)
    guard case .conv(let op) = cell.edges[0] else { return XCTFail("edge 0 is a convolution") }
    op.conv.weight = tensor([1, 1, 1, 1], [2])
    let x = tensor([1, 1, 1, 4], [-2, -1, 1, 3])
    let y = try cell.forward(x, mode: .inference)
    let s = 1 / (1 + Float(1e-5)).squareRoot()
    assertClose(y.storage, [-2, -1, 1 + 2 * s, 3 + 6 * s])
    XCTAssertEqual(cell.sublayers.count, 1)
  }

  /// Every ReLU reaches the observer in forward order: per cell one per convolution edge,
  /// two per reduction block, one after lastact. Best cell, N = 1: 3·5 + 2·2 + 1 = 20.
  func testObserverSeesEveryReLU() throws {
    final class Counter: ForwardObserver {
      var activations = 0, batchNorms = 0
      func observeActivation(_ output: Tensor) { activations += 1 }
      func observeBatchNorm(variance: [Float]) { batchNorms += 1 }
    }
    let model = try NASBench201Network(NASBench201Description(genotype: try NASBench201Genotype(string: best), cellsPerStage: 1))
    let counter = Counter()
    _ = try model.classify(Tensor(zeros: [2, 3, 8, 8], value: 0.5),
                           mode: ForwardMode(batchNorm: .training(updateRunningStatistics: false), observer: counter))
    XCTAssertEqual(counter.activations, 20)
    // stem 1 + 15 edges + 4 in reductions + lastact 1
    XCTAssertEqual(counter.batchNorms, 21)
  }

  func testInitializationReachesEveryParametricLayer() throws {
    let model = try NASBench201Network(NASBench201Description(genotype: try NASBench201Genotype(string: best), cellsPerStage: 2))
    var rng = SeededGenerator(seed: 5)
    model.initialize(.kaimingNormalFanOut, using: &rng)
    for (name, t) in model.stateDict() where name.hasSuffix("weight") {
      XCTAssertTrue(t.storage.contains { $0 != 0 }, "\(name) was not initialised")
    }
  }

  func testLoadStateRoundTrips() throws {
    let description = NASBench201Description(genotype: try NASBench201Genotype(string: best), cellsPerStage: 1)
    let a = try NASBench201Network(description), b = try NASBench201Network(description)
    var rng = SeededGenerator(seed: 9)
    a.initialize(.pytorchDefault, using: &rng)
    try b.loadState(Dictionary(uniqueKeysWithValues: a.stateDict().map { ($0.name, $0.tensor) }))
    let x = Tensor.normal([1, 3, 8, 8], using: &rng)
    XCTAssertEqual(try a.forward(x, mode: .inference), try b.forward(x, mode: .inference))
  }

  // MARK: Errors

  func testAbsurdDescriptionsAreRejected() throws {
    let g = try NASBench201Genotype(string: best)
    for d in [
      NASBench201Description(genotype: g, channels: 0), NASBench201Description(genotype: g, channels: 1025),
      NASBench201Description(genotype: g, cellsPerStage: 0), NASBench201Description(genotype: g, cellsPerStage: 33),
      NASBench201Description(genotype: g, classCount: 0), NASBench201Description(genotype: g, classCount: 100_001),
      NASBench201Description(genotype: g, inputChannels: 0),
      // within every range, but 3·10¹⁰ parameters
      NASBench201Description(genotype: g, channels: 1024, cellsPerStage: 32),
    ] {
      XCTAssertThrowsError(try NASBench201Network(d), "\(d)") { error in
        XCTAssertTrue("\(error)".contains("invalid architecture"), "\(error)")
      }
    }
  }

  /// Odd sizes leave the reduction block's branches a row apart (16 vs 15 for 31): an
  /// error, as in PyTorch, from both the shape pass and the forward pass.
  func testOddInputSizeIsAnError() throws {
    let model = try NASBench201Network(NASBench201Description(genotype: try NASBench201Genotype(string: best), cellsPerStage: 1))
    XCTAssertThrowsError(try model.macs(height: 31, width: 31))
    XCTAssertThrowsError(try model.classify(Tensor(zeros: [1, 3, 31, 31]), mode: .inference))
    XCTAssertThrowsError(try model.classify(Tensor(zeros: [1, 1, 32, 32]), mode: .inference))
  }

  // MARK: PyTorch

  /// A NAS-Bench-201 network (C = 4, N = 2) written in PyTorch from the benchmark's
  /// definition with `TinyNetwork`'s names, random weights and BN statistics, run on a
  /// [2, 3, 16, 16] input: Fixtures/nasbench201.safetensors holds its state dict, the input
  /// (`fixture.input`) and its outputs; Fixtures/make_nasbench201.py wrote it. The genotype uses
  /// all five operations. Observed differences stay below 2·10⁻⁵ (float rounding of
  /// Winograd against PyTorch's direct convolution), well inside the tolerance.
  func testMatchesPyTorchReference() throws {
    let url = try XCTUnwrap(Bundle.module.url(forResource: "nasbench201", withExtension: "safetensors", subdirectory: "Fixtures"))
    let file = try SafetensorsFile.read(path: url.path)
    let genotype = try NASBench201Genotype(string: try XCTUnwrap(file.metadata["genotype"]))
    XCTAssertEqual(genotype.ops, [.conv3x3, .avgPool3x3, .conv1x1, .skipConnect, .none, .conv3x3])
    let model = try NASBench201Network(NASBench201Description(genotype: genotype, channels: 4, cellsPerStage: 2))
    try model.loadState(file.tensors.filter { !$0.key.hasPrefix("fixture.") })
    let x = try XCTUnwrap(file.tensors["fixture.input"])
    let inference = try model.classify(x, mode: .inference)
    assertClose(inference.logits, try XCTUnwrap(file.tensors["fixture.logits.inference"]), abs: 1e-4, rel: 1e-4)
    assertClose(inference.features, try XCTUnwrap(file.tensors["fixture.features.inference"]), abs: 1e-4, rel: 1e-4)
    let training = try model.classify(x, mode: .training(updateRunningStatistics: false))
    assertClose(training.logits, try XCTUnwrap(file.tensors["fixture.logits.training"]), abs: 1e-4, rel: 1e-4)
  }
}
