import DiswotTensor

/// A VGG built from a `VGGDescription`, with RepDistiller's `state_dict` names: block b's
/// k-th convolution is `block{b}.{3k}` and its batch norm `block{b}.{3k+1}` (the ReLUs
/// between them are `block{b}.{3k+2}`, without state), then `classifier`.
public final class VGGNetwork: Classifier {
  public let description: VGGDescription
  /// blocks[b][k]: the k-th convolution of block b and its batch norm.
  public let blocks: [[(conv: Conv2d, bn: BatchNorm2d)]]
  public let classifier: Linear
  /// The last recording `classify`: every ReLU output (also the next layer's input), in
  /// forward order, and each max pool's input shape and winning positions.
  private var record: (activations: [Tensor], pools: [Int: (inputShape: [Int], indices: [Int32])])?

  public init(_ description: VGGDescription) throws(ModelError) {
    try description.validate()
    self.description = description
    var inChannels = description.inputChannels
    var blocks: [[(conv: Conv2d, bn: BatchNorm2d)]] = []
    do {
      for widths in description.blocks {
        var block: [(conv: Conv2d, bn: BatchNorm2d)] = []
        for width in widths {
          let conv = try Conv2d(
            Conv2dGeometry(inChannels: inChannels, outChannels: width, kernel: 3, padding: 1), bias: true)
          block.append((conv, BatchNorm2d(channels: width)))
          inChannels = width
        }
        blocks.append(block)
      }
    } catch {
      throw .tensor(error)
    }
    self.blocks = blocks
    classifier = Linear(inFeatures: inChannels, outFeatures: description.classCount)
  }

  public var inputChannels: Int { description.inputChannels }
  public var classCount: Int { description.classCount }

  public var metadata: [String: String] {
    ["arch": description.name, "family": "vgg", "depth": String(description.depth),
     "classes": String(description.classCount)]
  }

  /// x: [N, 3, H, W] -> features [N, 512, H/8, W/8] (H/16 for H = 64), pooled [N, 512],
  /// logits [N, K]
  public func classify(_ x: Tensor, mode: ForwardMode) throws(TensorError) -> ClassifierOutput {
    record = nil
    var activations: [Tensor] = []
    var pools: [Int: (inputShape: [Int], indices: [Int32])] = [:]
    let geometry = Pool2dGeometry(kernel: VGGDescription.pool.kernel, stride: VGGDescription.pool.stride)
    var out = x
    for (b, block) in blocks.enumerated() {
      for (conv, bn) in block {
        out = try bn.forward(try conv.forward(out, mode: mode), mode: mode)
        relu(&out, mode)
        if mode.recordsForBackward { activations.append(out) }
      }
      guard VGGDescription.pools(after: b, height: x.h) else { continue }
      if mode.recordsForBackward {
        let (pooled, indices) = try maxpool2d_forward_with_indices(out, geometry: geometry)
        pools[b] = (out.shape, indices)
        out = pooled
      } else {
        out = try maxpool2d_forward(out, geometry: geometry)
      }
    }
    let pooled = try global_avgpool_forward(out)
    let logits = try classifier.forward(pooled, mode: mode)
    if mode.recordsForBackward { record = (activations, pools) }
    return ClassifierOutput(features: out, pooled: pooled, logits: logits)
  }

  public func backward(dLogits: Tensor, dFeatures: Tensor?, computeInputGradient: Bool) throws(TensorError) -> Tensor? {
    guard let record else { throw missingRecord("VGGNetwork") }
    var activations = record.activations
    var d = try classifierHeadBackward(
      classifier, featureShape: activations.last!.shape, dLogits: dLogits, dFeatures: dFeatures)
    for (b, block) in blocks.enumerated().reversed() {
      if let pool = record.pools[b] { d = try maxpool2d_backward(d, indices: pool.indices, inputShape: pool.inputShape) }
      for (k, (conv, bn)) in block.enumerated().reversed() {
        d = try bn.backward(try reluBackward(output: activations.removeLast(), d))
        if b > 0 || k > 0 { d = try conv.backward(d) }
      }
    }
    // The first convolution last: nothing upstream may need its input gradient.
    return try blocks[0][0].conv.backward(d, computeInputGradient: computeInputGradient)
  }

  public var children: [(name: String, layer: Layer)] {
    var children: [(name: String, layer: Layer)] = []
    for (b, block) in blocks.enumerated() {
      for (k, (conv, bn)) in block.enumerated() { children += [("block\(b).\(3 * k)", conv), ("block\(b).\(3 * k + 1)", bn)] }
    }
    return children + [("classifier", classifier)]
  }

  public func outputShapeAndMACs(input: [Int]) throws(TensorError) -> (shape: [Int], macs: Int) {
    guard input.count == 4 else { throw .shapeMismatch("VGG needs [N, C, H, W], got \(input)") }
    let geometry = Pool2dGeometry(kernel: VGGDescription.pool.kernel, stride: VGGDescription.pool.stride)
    var shape = input, macs = 0
    for (b, block) in blocks.enumerated() {
      for (conv, _) in block {
        let r = try conv.outputShapeAndMACs(input: shape)
        shape = r.shape
        macs += r.macs
      }
      if VGGDescription.pools(after: b, height: input[2]) {
        shape = [shape[0], shape[1], try geometry.outputSize(shape[2]), try geometry.outputSize(shape[3])]
      }
    }
    let head = try classifier.outputShapeAndMACs(input: [shape[0], shape[1]])
    return (head.shape, macs + head.macs)
  }
}
