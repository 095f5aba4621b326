import DiswotTensor

/// What a classification network computes on a batch, kept apart so that scoring can
/// compare intermediate representations and not only logits.
public struct ClassifierOutput: Sendable {
  /// The last feature map before global pooling: [N, C, H, W].
  public var features: Tensor
  /// Its global average: [N, C].
  public var pooled: Tensor
  /// Class scores: [N, K].
  public var logits: Tensor

  public init(features: Tensor, pooled: Tensor, logits: Tensor) {
    self.features = features
    self.pooled = pooled
    self.logits = logits
  }
}

/// An image classifier ending in global average pooling and one linear layer: the
/// shape every network in diswot's search spaces has, and what DisWOT's metrics need.
public protocol Classifier: Layer {
  /// Channels of the input images.
  var inputChannels: Int { get }
  /// Number of classes K.
  var classCount: Int { get }
  /// Safetensors metadata describing the architecture (at least `arch`).
  var metadata: [String: String] { get }
  /// Runs the network and returns features, pooled features and logits.
  func classify(_ x: Tensor, mode: ForwardMode) throws(TensorError) -> ClassifierOutput
}

extension Classifier {
  public func forward(_ x: Tensor, mode: ForwardMode) throws(TensorError) -> Tensor {
    try classify(x, mode: mode).logits
  }

  /// Multiply-accumulates of one forward pass on a single image of the given size.
  public func macs(height: Int, width: Int) throws(TensorError) -> Int {
    try outputShapeAndMACs(input: [1, inputChannels, height, width]).macs
  }
}
