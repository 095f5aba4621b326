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
  /// The backward pass of the last recording `classify`, from the loss's gradients with
  /// respect to its logits [N, K] and, optionally, its feature map [N, C, H, W] (a
  /// feature-distillation loss): the feature map receives `dFeatures` plus what flows
  /// back through the classifier and the global pooling. Accumulates every parameter's
  /// gradient (`Layer`'s contract); returns dL/dx for the input images when
  /// `computeInputGradient`, otherwise nil (and skips the first convolution's input
  /// gradient, which nothing upstream needs).
  func backward(dLogits: Tensor, dFeatures: Tensor?, computeInputGradient: Bool) throws(TensorError) -> Tensor?
}

extension Classifier {
  public func forward(_ x: Tensor, mode: ForwardMode) throws(TensorError) -> Tensor {
    try classify(x, mode: mode).logits
  }

  /// As a `Layer` the network maps images to logits: dy is dL/dlogits, the result dL/dx.
  public func backward(_ dy: Tensor) throws(TensorError) -> Tensor {
    try backward(dLogits: dy, dFeatures: nil, computeInputGradient: true)!
  }

  /// A training step's backward pass: parameter gradients only (returns nil).
  public func backward(dLogits: Tensor, dFeatures: Tensor? = nil) throws(TensorError) -> Tensor? {
    try backward(dLogits: dLogits, dFeatures: dFeatures, computeInputGradient: false)
  }

  /// Multiply-accumulates of one forward pass on a single image of the given size.
  public func macs(height: Int, width: Int) throws(TensorError) -> Int {
    try outputShapeAndMACs(input: [1, inputChannels, height, width]).macs
  }
}

/// dL/d(feature map) of a classifier head (global average pooling, then `classifier`):
/// the logits' gradient brought back through both, plus a feature loss's gradient.
/// dLogits: [N, K], dFeatures: [N, C, H, W] or nil -> [N, C, H, W] with H, W from `featureShape`
func classifierHeadBackward(
  _ classifier: Linear, featureShape: [Int], dLogits: Tensor, dFeatures: Tensor?
) throws(TensorError) -> Tensor {
  var d = try global_avgpool_backward(try classifier.backward(dLogits), inputShape: featureShape)
  if let dFeatures {
    guard dFeatures.shape == featureShape else {
      throw .shapeMismatch("feature gradient \(dFeatures.shape) for features \(featureShape)")
    }
    try add_forward(&d, dFeatures)
  }
  return d
}
