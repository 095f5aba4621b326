import DiswotTensor

/// A MobileNetV2-style network built from a `MobileNetV2Description`, with the
/// `state_dict` names of torchvision's `mobilenet_v2`: `features.0.{0,1}` the stem,
/// `features.{i}.conv.…` the inverted residual blocks (i = 1…B), `features.{B+1}.{0,1}`
/// the head, `classifier.1` the linear layer (`classifier.0` is dropout).
///
/// Multiply-accumulates count convolutions (depthwise ones at one MAC per tap and
/// channel) and the classifier only; batch norm, activations, pooling and residual sums
/// are not counted.
public final class MobileNetV2Network: Classifier {
  public let description: MobileNetV2Description
  public let stem: ConvBNReLU6
  /// `features.1` … `features.B`, in forward order.
  public let blocks: [InvertedResidual]
  public let head: ConvBNReLU6
  public let classifier: Linear
  /// The feature map's shape in the last recording `classify` (the head keeps the map).
  private var recordedFeatureShape: [Int]?

  public init(_ description: MobileNetV2Description) throws(ModelError) {
    try description.validate()
    self.description = description
    do {
      stem = try ConvBNReLU6(Conv2dGeometry(
        inChannels: description.inputChannels, outChannels: description.stemWidth, kernel: 3,
        stride: description.stemStride, padding: 1))
      var blocks: [InvertedResidual] = []
      for (cin, cout, stride, block) in description.blocks {
        blocks.append(try InvertedResidual(
          inChannels: cin, outChannels: cout, stride: stride, expansion: block.expansion, kernel: block.kernel))
      }
      self.blocks = blocks
      let last = description.stages.last!.width
      head = try ConvBNReLU6(Conv2dGeometry(inChannels: last, outChannels: description.lastWidth, kernel: 1))
      classifier = Linear(inFeatures: description.lastWidth, outFeatures: description.classCount)
    } catch {
      throw .tensor(error)
    }
  }

  public var inputChannels: Int { description.inputChannels }
  public var classCount: Int { description.classCount }

  public var metadata: [String: String] {
    ["arch": description.name, "family": "mobilenetv2", "stages": description.layout,
     "stem_width": String(description.stemWidth), "stem_stride": String(description.stemStride),
     "last_width": String(description.lastWidth), "classes": String(description.classCount)]
  }

  /// x: [N, 3, H, W] -> features [N, lastWidth, H/S, W/S] (after the head's ReLU6; S the
  /// product of all strides, sizes rounded up), pooled [N, lastWidth], logits [N, K]
  public func classify(_ x: Tensor, mode: ForwardMode) throws(TensorError) -> ClassifierOutput {
    recordedFeatureShape = nil
    var out = try stem.forward(x, mode: mode)
    for block in blocks { out = try block.forward(out, mode: mode) }
    out = try head.forward(out, mode: mode)
    let pooled = try global_avgpool_forward(out)
    let logits = try classifier.forward(pooled, mode: mode)
    if mode.recordsForBackward { recordedFeatureShape = out.shape }
    return ClassifierOutput(features: out, pooled: pooled, logits: logits)
  }

  public func backward(dLogits: Tensor, dFeatures: Tensor?, computeInputGradient: Bool) throws(TensorError) -> Tensor? {
    guard let featureShape = recordedFeatureShape else { throw missingRecord("MobileNetV2Network") }
    var d = try classifierHeadBackward(classifier, featureShape: featureShape, dLogits: dLogits, dFeatures: dFeatures)
    d = try head.backward(d)
    for block in blocks.reversed() { d = try block.backward(d) }
    return try stem.backward(d, computeInputGradient: computeInputGradient)
  }

  public var children: [(name: String, layer: Layer)] {
    [("features.0", stem)] + blocks.enumerated().map { ("features.\($0 + 1)", $1) }
      + [("features.\(blocks.count + 1)", head), ("classifier.1", classifier)]
  }

  public func outputShapeAndMACs(input: [Int]) throws(TensorError) -> (shape: [Int], macs: Int) {
    var (shape, macs) = try stem.outputShapeAndMACs(input: input)
    (shape, macs) = try chainedShapeAndMACs(blocks, input: shape, macs: macs)
    let h = try head.outputShapeAndMACs(input: shape)
    let c = try classifier.outputShapeAndMACs(input: [h.shape[0], h.shape[1]])
    return (c.shape, macs + h.macs + c.macs)
  }
}
