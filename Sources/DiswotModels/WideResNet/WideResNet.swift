import DiswotTensor

/// A wide ResNet built from a `WideResNetDescription`, with RepDistiller's `state_dict`
/// names: `conv1`, `block{s}.layer.{j}.{bn1,conv1,bn2,conv2[,convShortcut]}`, `bn1`, `fc`.
///
/// RepDistiller pools with a fixed 8×8 window (`F.avg_pool2d(out, 8)`), which on its
/// 32×32 inputs is the global average this network takes on any input size.
public final class WideResNet: Classifier {
  public let description: WideResNetDescription
  public let conv1: Conv2d
  /// stages[s][j] is `block{s+1}.layer.{j}`.
  public let stages: [[WideBasicBlock]]
  /// The final pre-activation's batch norm, before the ReLU and pooling.
  public let bn1: BatchNorm2d
  public let fc: Linear
  /// The feature map (after the final ReLU) of the last recording `classify`.
  private var recordedFeatures: Tensor?

  public init(_ description: WideResNetDescription) throws(ModelError) {
    try description.validate()
    self.description = description
    let c = description.channels
    do {
      conv1 = try Conv2d(Conv2dGeometry(inChannels: description.inputChannels, outChannels: c[0], kernel: 3, padding: 1))
      var stages: [[WideBasicBlock]] = []
      for s in 0..<3 {
        stages.append(try (0..<description.blocksPerStage).map { j throws(TensorError) in
          try WideBasicBlock(
            inChannels: j == 0 ? c[s] : c[s + 1], outChannels: c[s + 1], stride: j == 0 && s > 0 ? 2 : 1)
        })
      }
      self.stages = stages
    } catch {
      throw .tensor(error)
    }
    bn1 = BatchNorm2d(channels: c[3])
    fc = Linear(inFeatures: c[3], outFeatures: description.classCount)
  }

  public var inputChannels: Int { description.inputChannels }
  public var classCount: Int { description.classCount }

  public var metadata: [String: String] {
    ["arch": description.name, "family": "wrn", "depth": String(description.depth),
     "widen_factor": String(description.widenFactor), "classes": String(description.classCount)]
  }

  /// x: [N, 3, H, W] -> features [N, 64k, H/4, W/4] (after the final ReLU), pooled
  /// [N, 64k], logits [N, K]
  public func classify(_ x: Tensor, mode: ForwardMode) throws(TensorError) -> ClassifierOutput {
    recordedFeatures = nil
    var out = try conv1.forward(x, mode: mode)
    for block in stages.joined() { out = try block.forward(out, mode: mode) }
    out = try bn1.forward(out, mode: mode)
    relu(&out, mode)
    let pooled = try global_avgpool_forward(out)
    let logits = try fc.forward(pooled, mode: mode)
    if mode.recordsForBackward { recordedFeatures = out }
    return ClassifierOutput(features: out, pooled: pooled, logits: logits)
  }

  public func backward(dLogits: Tensor, dFeatures: Tensor?, computeInputGradient: Bool) throws(TensorError) -> Tensor? {
    guard let features = recordedFeatures else { throw missingRecord("WideResNet") }
    var d = try classifierHeadBackward(fc, featureShape: features.shape, dLogits: dLogits, dFeatures: dFeatures)
    d = try bn1.backward(try reluBackward(output: features, d))
    for block in stages.joined().reversed() { d = try block.backward(d) }
    return try conv1.backward(d, computeInputGradient: computeInputGradient)
  }

  public var children: [(name: String, layer: Layer)] {
    var children: [(name: String, layer: Layer)] = [("conv1", conv1)]
    for (s, stage) in stages.enumerated() {
      for (j, block) in stage.enumerated() { children.append(("block\(s + 1).layer.\(j)", block)) }
    }
    return children + [("bn1", bn1), ("fc", fc)]
  }

  public func outputShapeAndMACs(input: [Int]) throws(TensorError) -> (shape: [Int], macs: Int) {
    var (shape, macs) = try conv1.outputShapeAndMACs(input: input)
    (shape, macs) = try chainedShapeAndMACs(Array(stages.joined()), input: shape, macs: macs)
    let head = try fc.outputShapeAndMACs(input: [shape[0], shape[1]])
    return (head.shape, macs + head.macs)
  }
}
