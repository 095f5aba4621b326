import DiswotTensor

/// An ImageNet ResNet built from a `TorchvisionResNetDescription`, with torchvision's
/// `state_dict` names: `conv1`, `bn1`, `layer{s}.{j}.{conv1,bn1,conv2,bn2[,conv3,bn3]
/// [,downsample.0,downsample.1]}`, `fc`; the max pool and average pool hold no state.
public final class TorchvisionResNet: Classifier {
  public let description: TorchvisionResNetDescription
  public let conv1: Conv2d
  public let bn1: BatchNorm2d
  /// stages[s][j] is `layer{s+1}.{j}`: a `BasicBlock` (option-B shortcut, which is
  /// torchvision's `BasicBlock` exactly) or a `Bottleneck`.
  public let stages: [[Layer]]
  public let fc: Linear
  /// The max pool after the stem: 3×3, stride 2, padding 1.
  public static let maxPool = Pool2dGeometry(kernel: 3, stride: 2, padding: 1)
  /// The last recording `classify`: the stem's ReLU output, where each max-pool output
  /// came from, and the feature map's shape.
  private var record: (stem: Tensor, poolIndices: [Int32], featureShape: [Int])?

  public init(_ description: TorchvisionResNetDescription) throws(ModelError) {
    try description.validate()
    self.description = description
    do {
      let stem = TorchvisionResNetDescription.stemWidth
      conv1 = try Conv2d(Conv2dGeometry(inChannels: description.inputChannels, outChannels: stem, kernel: 7, stride: 2, padding: 3))
      bn1 = BatchNorm2d(channels: stem)
      var stages: [[Layer]] = []
      for stage in description.blocks {
        var layers: [Layer] = []
        for b in stage {
          switch description.block {
          case .basic:
            layers.append(try BasicBlock(inChannels: b.inChannels, outChannels: b.width, stride: b.stride, shortcut: .b))
          case .bottleneck:
            layers.append(try Bottleneck(inChannels: b.inChannels, width: b.width, stride: b.stride))
          }
        }
        stages.append(layers)
      }
      self.stages = stages
      fc = Linear(inFeatures: description.featureChannels, outFeatures: description.classCount)
    } catch {
      throw .tensor(error)
    }
  }

  public var inputChannels: Int { description.inputChannels }
  public var classCount: Int { description.classCount }

  public var metadata: [String: String] {
    ["arch": description.name, "block": description.block.rawValue,
     "blocks_per_stage": description.blocksPerStage.map(String.init).joined(separator: ","),
     "widths": description.widths.map(String.init).joined(separator: ","),
     "classes": String(description.classCount), "family": "resnet-torchvision"]
  }

  /// x: [N, C, H, W] (H, W ≥ 32) -> features [N, C', H/32, W/32] (rounded up), pooled, logits
  public func classify(_ x: Tensor, mode: ForwardMode) throws(TensorError) -> ClassifierOutput {
    record = nil
    guard x.rank == 4, x.h >= TorchvisionResNetDescription.minInputSize, x.w >= TorchvisionResNetDescription.minInputSize else {
      throw .shapeMismatch("\(description.name) needs images of at least \(TorchvisionResNetDescription.minInputSize)×\(TorchvisionResNetDescription.minInputSize), got \(x.shape)")
    }
    var out = try bn1.forward(try conv1.forward(x, mode: mode), mode: mode)
    relu(&out, mode)
    let stem = out
    var indices: [Int32] = []
    if mode.recordsForBackward {
      (out, indices) = try maxpool2d_forward_with_indices(stem, geometry: Self.maxPool)
    } else {
      out = try maxpool2d_forward(stem, geometry: Self.maxPool)
    }
    for stage in stages {
      for block in stage { out = try block.forward(out, mode: mode) }
    }
    let pooled = try global_avgpool_forward(out)
    let logits = try fc.forward(pooled, mode: mode)
    if mode.recordsForBackward { record = (stem, indices, out.shape) }
    return ClassifierOutput(features: out, pooled: pooled, logits: logits)
  }

  public func backward(dLogits: Tensor, dFeatures: Tensor?, computeInputGradient: Bool) throws(TensorError) -> Tensor? {
    guard let record else { throw missingRecord("TorchvisionResNet") }
    var d = try classifierHeadBackward(fc, featureShape: record.featureShape, dLogits: dLogits, dFeatures: dFeatures)
    for block in stages.joined().reversed() { d = try block.backward(d) }
    d = try maxpool2d_backward(d, indices: record.poolIndices, inputShape: record.stem.shape)
    d = try bn1.backward(try reluBackward(output: record.stem, d))
    return try conv1.backward(d, computeInputGradient: computeInputGradient)
  }

  public var children: [(name: String, layer: Layer)] {
    var children: [(name: String, layer: Layer)] = [("conv1", conv1), ("bn1", bn1)]
    for (s, stage) in stages.enumerated() {
      for (j, block) in stage.enumerated() { children.append(("layer\(s + 1).\(j)", block)) }
    }
    children.append(("fc", fc))
    return children
  }

  public func outputShapeAndMACs(input: [Int]) throws(TensorError) -> (shape: [Int], macs: Int) {
    var (shape, macs) = try conv1.outputShapeAndMACs(input: input)
    shape = [shape[0], shape[1], try Self.maxPool.outputSize(shape[2]), try Self.maxPool.outputSize(shape[3])]
    (shape, macs) = try chainedShapeAndMACs(Array(stages.joined()), input: shape, macs: macs)
    let head = try fc.outputShapeAndMACs(input: [shape[0], shape[1]])
    return (head.shape, macs + head.macs)
  }
}
