import DiswotTensor

/// A CIFAR ResNet built from a `ResNetDescription`, with PyTorch `state_dict` names:
/// `conv1`, `bn1`, `layer{s}.{j}.{conv1,bn1,conv2,bn2[,downsample.0,downsample.1]}`,
/// then `linear` or `fc`.
public final class ResNetCIFAR: Classifier {
  public let description: ResNetDescription
  public let conv1: Conv2d
  public let bn1: BatchNorm2d
  /// stages[s][j] is `layer{s+1}.{j}`.
  public let stages: [[BasicBlock]]
  public let classifier: Linear
  /// The last recording `classify`: the stem's ReLU output and the feature map's shape.
  private var record: (stem: Tensor, featureShape: [Int])?

  public init(_ description: ResNetDescription) throws(ModelError) {
    try description.validate()
    self.description = description
    do {
      let stem = description.stem
      conv1 = try Conv2d(Conv2dGeometry(inChannels: description.inputChannels, outChannels: stem, kernel: 3, padding: 1))
      bn1 = BatchNorm2d(channels: stem)
      var inChannels = stem
      var stages: [[BasicBlock]] = []
      for (s, (blocks, width)) in zip(description.blocksPerStage, description.widths).enumerated() {
        var stage: [BasicBlock] = []
        for j in 0..<blocks {
          let stride = (s > 0 && j == 0) ? 2 : 1
          stage.append(try BasicBlock(inChannels: inChannels, outChannels: width, stride: stride, shortcut: description.shortcut))
          inChannels = width
        }
        stages.append(stage)
      }
      self.stages = stages
      classifier = Linear(inFeatures: inChannels, outFeatures: description.classCount)
    } catch {
      throw .tensor(error)
    }
  }

  public var inputChannels: Int { description.inputChannels }
  public var classCount: Int { description.classCount }

  public var metadata: [String: String] {
    var metadata = [
      "arch": description.name, "shortcut": description.shortcut.rawValue,
      "blocks_per_stage": description.blocksPerStage.map(String.init).joined(separator: ","),
      "widths": description.widths.map(String.init).joined(separator: ","),
      "classes": String(description.classCount), "family": "resnet-cifar"]
    if let stem = description.stemWidth { metadata["stem_width"] = String(stem) }
    return metadata
  }

  /// x: [N, 3, H, W] -> features [N, C, H/4, W/4], pooled [N, C], logits [N, K]
  public func classify(_ x: Tensor, mode: ForwardMode) throws(TensorError) -> ClassifierOutput {
    record = nil
    var out = try bn1.forward(try conv1.forward(x, mode: mode), mode: mode)
    relu(&out, mode)
    let stem = out
    for stage in stages {
      for block in stage { out = try block.forward(out, mode: mode) }
    }
    let pooled = try global_avgpool_forward(out)
    let logits = try classifier.forward(pooled, mode: mode)
    if mode.recordsForBackward { record = (stem, out.shape) }
    return ClassifierOutput(features: out, pooled: pooled, logits: logits)
  }

  public func backward(dLogits: Tensor, dFeatures: Tensor?, computeInputGradient: Bool) throws(TensorError) -> Tensor? {
    guard let record else { throw missingRecord("ResNetCIFAR") }
    var d = try classifierHeadBackward(
      classifier, featureShape: record.featureShape, dLogits: dLogits, dFeatures: dFeatures)
    for block in stages.joined().reversed() { d = try block.backward(d) }
    d = try bn1.backward(try reluBackward(output: record.stem, d))
    return try conv1.backward(d, computeInputGradient: computeInputGradient)
  }

  public var children: [(name: String, layer: Layer)] {
    var children: [(name: String, layer: Layer)] = [("conv1", conv1), ("bn1", bn1)]
    for (s, stage) in stages.enumerated() {
      for (j, block) in stage.enumerated() { children.append(("layer\(s + 1).\(j)", block)) }
    }
    children.append((description.classifierName, classifier))
    return children
  }

  public func outputShapeAndMACs(input: [Int]) throws(TensorError) -> (shape: [Int], macs: Int) {
    var (shape, macs) = try conv1.outputShapeAndMACs(input: input)
    (shape, macs) = try chainedShapeAndMACs(Array(stages.joined()), input: shape, macs: macs)
    let head = try classifier.outputShapeAndMACs(input: [shape[0], shape[1]])
    return (head.shape, macs + head.macs)
  }
}
