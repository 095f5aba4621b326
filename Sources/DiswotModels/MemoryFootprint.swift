import DiswotTensor

/// What a network holds in memory, computed from its description without building it:
/// building allocates every weight, which is exactly what must not happen to a network
/// that does not fit (a 64-blocks-per-stage, 4096-wide ResNet asks for terabytes).
///
/// `parameters` and `macs` equal the built network's `parameterCount` and `macs(height:width:)`;
/// `activationsPerImage` counts
/// the intermediate tensors a forward pass creates (every convolution, batch-norm and
/// pooling output, ReLU copies, padded shortcuts), which is what a pass that records for a
/// backward pass keeps. `scoringBytes` turns both into an estimate of the peak.
public struct MemoryFootprint: Sendable, Equatable {
  /// Learned parameters.
  public internal(set) var parameters = 0
  /// Multiply-accumulates of one forward pass on one image (convolutions and the classifier).
  public internal(set) var macs = 0
  /// Every state float: parameters and buffers (batch-norm running statistics and their
  /// `num_batches_tracked` counters).
  public internal(set) var stateFloats = 0
  /// Batch norms, each with one `num_batches_tracked` counter among `stateFloats` (which a
  /// weights file may lack: PyTorch before 0.4.1, converters that drop it).
  public internal(set) var batchNorms = 0
  /// Weights of the convolutions that run Winograd F(4×4, 3×3): their kernels are also
  /// kept transformed (6×6 instead of 3×3, four times their size) and the weight gradient
  /// is formed in that domain.
  public internal(set) var winogradWeights = 0
  /// Floats of one forward pass's intermediate tensors, per image.
  public internal(set) var activationsPerImage = 0

  /// The estimated peak, in bytes, of scoring the network on a batch of `batch` images
  /// with every proxy (the gradient-based ones run backward passes). Weights count three
  /// times (values, gradients, synflow's saved copy) plus five times more for Winograd
  /// kernels (transformed weights and their gradients); activations three times (the
  /// recorded forward pass, the gradients flowing back, and the kernels' workspaces).
  /// Measured against the peak resident memory of `diswot score` with every proxy on
  /// ResNets from 0.3 to 200 MB of weights (Docs/operations.md), it is an upper bound.
  public func scoringBytes(batch: Int) -> Int {
    let floats = 3 * Double(stateFloats) + 5 * Double(winogradWeights) + 3 * Double(batch) * Double(activationsPerImage)
    return Int(min(Double(Int.max / 2), 4 * floats))
  }
}

/// Accumulates a `MemoryFootprint` layer by layer, as a network's initialiser creates its
/// layers; each call takes the feature map's size and returns the one it produces.
struct FootprintCounter {
  var footprint = MemoryFootprint()

  /// A convolution (bias only when asked), as `Conv2d`; returns its output size.
  mutating func conv(
    _ cin: Int, _ cout: Int, kernel: Int, stride: Int = 1, padding: Int = 0, groups: Int = 1, bias: Bool = false,
    input: (height: Int, width: Int)
  ) throws(TensorError) -> (height: Int, width: Int) {
    let g = Conv2dGeometry(
      inChannels: cin, outChannels: cout, kernel: kernel, stride: stride, padding: padding, groups: groups)
    let out = try g.outputSize(height: input.height, width: input.width)
    let weights = cout * (cin / groups) * kernel * kernel + (bias ? cout : 0)
    footprint.parameters += weights
    footprint.stateFloats += weights
    footprint.macs += g.macs(height: input.height, width: input.width)
    if Conv2dAlgorithm(g) == .winograd { footprint.winogradWeights += weights }
    footprint.activationsPerImage += cout * out.height * out.width
    return out
  }

  /// A batch norm over `channels` (affine; running mean and variance; its update
  /// counter), as `BatchNorm2d`.
  mutating func batchNorm(_ channels: Int, at size: (height: Int, width: Int)) {
    footprint.parameters += 2 * channels
    footprint.stateFloats += 4 * channels + 1
    footprint.batchNorms += 1
    footprint.activationsPerImage += channels * size.height * size.width
  }

  /// A new tensor without parameters (a pooling output, a ReLU copy, a sum, a padded shortcut).
  mutating func tensor(_ channels: Int, at size: (height: Int, width: Int)) {
    footprint.activationsPerImage += channels * size.height * size.width
  }

  /// The classifier: global average pooling, then a linear layer with bias.
  mutating func classifier(_ features: Int, classes: Int) {
    footprint.parameters += features * classes + classes
    footprint.stateFloats += features * classes + classes
    footprint.macs += features * classes
    footprint.activationsPerImage += features + classes
  }
}
