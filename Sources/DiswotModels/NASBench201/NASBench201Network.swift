import DiswotTensor

/// A NAS-Bench-201 network built from a `NASBench201Description`, with the PyTorch
/// `state_dict` names of AutoDL-Projects' `TinyNetwork`: `stem.0` (convolution),
/// `stem.1` (batch norm); `cells.{i}` for the 3N + 2 cells and reduction blocks in
/// forward order (`cells.{i}.layers.{e}.op.{1,2}` on convolution edges,
/// `cells.{i}.{conv_a,conv_b}.op.{1,2}` and `cells.{i}.downsample.1` in the reduction
/// blocks); `lastact.0` (batch norm); `classifier`.
///
/// Multiply-accumulates count convolutions and the classifier only; pooling, batch
/// norm and sums are not counted. (The benchmark's FLOP figures are these plus one add
/// per classifier output for its bias.)
public final class NASBench201Network: Classifier {
  /// An entry of `cells`: the reference keeps cells and reduction blocks in one list.
  public enum Block {
    case cell(NASBench201Cell)
    case reduction(NASBench201ReductionBlock)

    public var layer: Layer {
      switch self {
      case .cell(let c): return c
      case .reduction(let r): return r
      }
    }
  }

  public let description: NASBench201Description
  public let stemConv: Conv2d
  public let stemBN: BatchNorm2d
  /// `cells.{i}`: N cells, reduction, N cells, reduction, N cells.
  public let cells: [Block]
  /// `lastact.0`, followed by a ReLU.
  public let lastBN: BatchNorm2d
  public let classifier: Linear
  /// The feature map (after the last ReLU) of the last recording `classify`.
  private var recordedFeatures: Tensor?

  public init(_ description: NASBench201Description) throws(ModelError) {
    try description.validate()
    self.description = description
    do {
      let widths = description.widths
      stemConv = try Conv2d(Conv2dGeometry(
        inChannels: description.inputChannels, outChannels: widths[0], kernel: 3, padding: 1))
      stemBN = BatchNorm2d(channels: widths[0])
      var cells: [Block] = []
      for (s, width) in widths.enumerated() {
        if s > 0 { cells.append(.reduction(try NASBench201ReductionBlock(inChannels: widths[s - 1], outChannels: width))) }
        for _ in 0..<description.cellsPerStage {
          cells.append(.cell(try NASBench201Cell(genotype: description.genotype, channels: width)))
        }
      }
      self.cells = cells
      lastBN = BatchNorm2d(channels: widths[2])
      classifier = Linear(inFeatures: widths[2], outFeatures: description.classCount)
    } catch {
      throw .tensor(error)
    }
  }

  public var inputChannels: Int { description.inputChannels }
  public var classCount: Int { description.classCount }

  public var metadata: [String: String] {
    ["arch": description.name, "family": "nas-bench-201", "genotype": description.genotype.string,
     "channels": String(description.channels), "cells_per_stage": String(description.cellsPerStage),
     "classes": String(description.classCount)]
  }

  /// x: [N, 3, H, W] -> features [N, 4C, H/4, W/4] (after the last batch norm and ReLU),
  /// pooled [N, 4C], logits [N, K]
  public func classify(_ x: Tensor, mode: ForwardMode) throws(TensorError) -> ClassifierOutput {
    recordedFeatures = nil
    var out = try stemBN.forward(try stemConv.forward(x, mode: mode), mode: mode)
    for cell in cells { out = try cell.layer.forward(out, mode: mode) }
    out = try lastBN.forward(out, mode: mode)
    relu(&out, mode)
    let pooled = try global_avgpool_forward(out)
    let logits = try classifier.forward(pooled, mode: mode)
    if mode.recordsForBackward { recordedFeatures = out }
    return ClassifierOutput(features: out, pooled: pooled, logits: logits)
  }

  public func backward(dLogits: Tensor, dFeatures: Tensor?, computeInputGradient: Bool) throws(TensorError) -> Tensor? {
    guard let features = recordedFeatures else { throw missingRecord("NASBench201Network") }
    var d = try classifierHeadBackward(classifier, featureShape: features.shape, dLogits: dLogits, dFeatures: dFeatures)
    d = try lastBN.backward(try reluBackward(output: features, d))
    for cell in cells.reversed() { d = try cell.layer.backward(d) }
    return try stemConv.backward(try stemBN.backward(d), computeInputGradient: computeInputGradient)
  }

  public var children: [(name: String, layer: Layer)] {
    [("stem.0", stemConv), ("stem.1", stemBN)] + cells.enumerated().map { ("cells.\($0)", $1.layer) }
      + [("lastact.0", lastBN), ("classifier", classifier)]
  }

  public func outputShapeAndMACs(input: [Int]) throws(TensorError) -> (shape: [Int], macs: Int) {
    var (shape, macs) = try stemConv.outputShapeAndMACs(input: input)
    for cell in cells {
      let r = try cell.layer.outputShapeAndMACs(input: shape)
      shape = r.shape
      macs += r.macs
    }
    let head = try classifier.outputShapeAndMACs(input: [shape[0], shape[1]])
    return (head.shape, macs + head.macs)
  }
}
