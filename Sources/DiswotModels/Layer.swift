import DiswotTensor

/// How batch normalisation behaves during a forward pass.
public enum BatchNormMode: Sendable, Equatable {
  /// Running statistics (evaluation, deployment).
  case inference
  /// Batch statistics; running statistics move towards them only when asked (training
  /// does, training-free scoring does not, so scoring never changes a model).
  case training(updateRunningStatistics: Bool)
}

/// Sees intermediate results of a forward pass. Zero-cost proxies need more than the
/// output (NASWOT reads every ReLU's binary pattern, Zen-score every batch norm's
/// statistics), and an observer gives them that without a second network definition.
public protocol ForwardObserver: AnyObject {
  /// Called with each ReLU's output, in forward order.
  func observeActivation(_ output: Tensor)
  /// Called by each batch norm in training mode with its batch variance per channel.
  func observeBatchNorm(variance: [Float])
}

/// Sees what flows back into each convolution and linear layer during a backward pass.
/// Gradient-based zero-cost proxies need more than parameter gradients (Fisher reads every
/// Conv2d's and Linear's output with dL/d(output), the reference's backward hook on an
/// identity after each such layer), and composite layers never expose those tensors.
public protocol BackwardObserver: AnyObject {
  /// Called by each `Conv2d` and `Linear` at the start of its `backward`, in backward
  /// order, with the output of its recorded forward pass and dL/d(that output) (same
  /// shape: [N, C, H, W] or [N, K]). `layer` is the Conv2d or Linear itself.
  func observeOutputGradient(layer: Layer, output: Tensor, dOutput: Tensor)
}

/// Everything a forward pass needs besides its input.
public struct ForwardMode {
  public var batchNorm: BatchNormMode
  /// Optional observer of intermediate results; nil on every hot path.
  public var observer: ForwardObserver?
  /// Whether each layer keeps what its `backward` needs (inputs, ReLU outputs, batch-norm
  /// statistics). Off by default, so scoring and evaluation keep nothing beyond their
  /// outputs; a forward pass without it also drops what an earlier pass kept.
  public var recordsForBackward: Bool
  /// Optional observer of the backward passes of this (recording) forward pass: each
  /// Conv2d and Linear then also keeps its output and the observer with its record, and
  /// reports to it from every `backward` of that record. Ignored without
  /// `recordsForBackward`; nil on every hot path (training keeps nothing extra).
  public var backwardObserver: BackwardObserver?
  /// Whether the backward passes of this (recording) forward pass accumulate parameter
  /// gradients. On by default (training, grad_norm, snip); off for a record whose
  /// backward passes only want dL/d(input), such as jacob_cov's Jacobian, where the
  /// convolutions' weight gradients would cost as much as the input gradients and be
  /// thrown away. Ignored without `recordsForBackward`.
  public var parameterGradients: Bool

  public init(
    batchNorm: BatchNormMode, observer: ForwardObserver? = nil, recordsForBackward: Bool = false,
    backwardObserver: BackwardObserver? = nil, parameterGradients: Bool = true
  ) {
    self.batchNorm = batchNorm
    self.observer = observer
    self.recordsForBackward = recordsForBackward
    self.backwardObserver = backwardObserver
    self.parameterGradients = parameterGradients
  }

  /// Running batch-norm statistics, no observer.
  public static var inference: ForwardMode { ForwardMode(batchNorm: .inference) }

  /// Batch statistics, updating the running ones only when asked; recording for a
  /// backward pass only when asked.
  public static func training(updateRunningStatistics: Bool, recordForBackward: Bool = false) -> ForwardMode {
    ForwardMode(
      batchNorm: .training(updateRunningStatistics: updateRunningStatistics),
      recordsForBackward: recordForBackward)
  }

  /// One step of training: batch statistics, running statistics updated, recorded for
  /// the backward pass that follows.
  public static var trainingStep: ForwardMode {
    training(updateRunningStatistics: true, recordForBackward: true)
  }
}

/// ReLU in place, reported to the pass's observer: every network applies its ReLUs
/// through this so that activation-based proxies see all of them.
public func relu(_ x: inout Tensor, _ mode: ForwardMode) {
  relu_forward(&x)
  mode.observer?.observeActivation(x)
}

/// Whether a named state tensor is learned or tracked.
public enum StateKind: Sendable, Equatable {
  /// A learned parameter (`model.parameters()` in PyTorch).
  case parameter
  /// A tracked buffer such as BN running statistics (in the state dict, not learned).
  case buffer
  /// A count kept as bookkeeping, batch norm's `num_batches_tracked`: in the state dict
  /// (PyTorch's `load_state_dict(strict=True)` wants it) as an I64 scalar, never read by
  /// a computation, and optional when loading (files written without it load as 0).
  case counter
}

/// A building block of a network.
///
/// Layers are reference types because they own mutable state (weights, running
/// statistics, the activations a backward pass needs and parameter gradients) whose
/// identity matters: an optimiser updates the very tensors a layer reads.
///
/// Training contract (what a trainer and an optimiser rely on):
/// - `forward` in a mode with `recordsForBackward` keeps what `backward` needs; each
///   layer keeps one record, that of its last forward pass (a layer applied twice in a
///   step is not supported). Any forward pass without the flag drops the record.
/// - `backward(dy)` takes dL/d(output) of that recorded pass and returns dL/d(input). It
///   ADDS each parameter's gradient into the parameter's gradient buffer and changes
///   nothing else (no weights, no running statistics, not the record), so calling it
///   twice doubles the gradients; when the recording pass had
///   `ForwardMode.parameterGradients` off, it leaves the gradient buffers untouched too.
///   Without a recorded pass it throws `TensorError.invalidArgument` naming the layer.
/// - `visitParameters` visits every learned parameter with its gradient buffer, in the
///   same order and under the same names as `visitState` visits its `.parameter`
///   entries. A gradient has its value's shape; buffers are allocated (zeroed) on first
///   use and then reused for the layer's lifetime. An optimiser may update values (in
///   place or by assignment, same shape) and may modify gradients (e.g. clip them).
/// - `zeroGradients` sets every gradient buffer to zero without reallocating; a trainer
///   calls it once per step before `backward`.
/// - A recording forward pass with a `ForwardMode.backwardObserver` makes every Conv2d
///   and Linear report its output and dL/d(output) to that observer in each `backward` of
///   the record (see `BackwardObserver`); nothing else changes.
///
/// Structure: a composite layer declares its direct children once, with their
/// `state_dict` names, in `children`; `visitState`, `visitParameters`, `zeroGradients`,
/// `sublayers` and `initialize` are all derived from that one list (the extension below),
/// so no walk can skip a child another walk reaches. Only the leaves that own tensors
/// (`Conv2d`, `BatchNorm2d`, `Linear`) implement `visitState`, `visitParameters` and
/// `zeroGradients` themselves, and declare no children.
public protocol Layer: AnyObject {
  /// Runs the layer on a batch.
  func forward(_ x: Tensor, mode: ForwardMode) throws(TensorError) -> Tensor
  /// dL/d(input) of the last recording forward pass from dL/d(output), accumulating
  /// parameter gradients (see the contract above).
  func backward(_ dy: Tensor) throws(TensorError) -> Tensor
  /// Output shape and multiply-accumulate count for an input shape, without computing.
  func outputShapeAndMACs(input: [Int]) throws(TensorError) -> (shape: [Int], macs: Int)
  /// The direct children under their names relative to this layer (`conv1`,
  /// `layer1.0`, `downsample.1`: what PyTorch's `named_children` would give, flattened
  /// through stateless containers), in PyTorch's registration order, which is also the
  /// forward order; empty for leaves. The one declaration of a composite's structure.
  var children: [(name: String, layer: Layer)] { get }
  /// Visits every state tensor under its PyTorch `state_dict` name, in PyTorch's order.
  /// Default: each child's, under `prefix.name`, in `children` order.
  func visitState(prefix: String, _ visit: (String, StateKind, inout Tensor) throws -> Void) rethrows
  /// Visits every learned parameter as (name, value, gradient), in `visitState` order.
  /// Default: each child's, as `visitState`.
  func visitParameters(prefix: String, _ visit: (String, inout Tensor, inout Tensor) throws -> Void) rethrows
  /// Sets every parameter gradient to zero, keeping the buffers. Default: each child's.
  func zeroGradients()
}

extension Layer {
  /// The state of the children, each under `prefix.name`.
  public func visitState(prefix: String, _ visit: (String, StateKind, inout Tensor) throws -> Void) rethrows {
    for (name, child) in children { try child.visitState(prefix: qualified(prefix, name), visit) }
  }

  /// The parameters of the children, each under `prefix.name`.
  public func visitParameters(prefix: String, _ visit: (String, inout Tensor, inout Tensor) throws -> Void) rethrows {
    for (name, child) in children { try child.visitParameters(prefix: qualified(prefix, name), visit) }
  }

  /// Composites zero their children; leaves with parameters zero their own buffers.
  public func zeroGradients() {
    for (_, child) in children { child.zeroGradients() }
  }

  /// The direct children without their names, in forward order (empty for leaves); lets
  /// whole-network passes such as initialisation walk any architecture without knowing
  /// its type.
  public var sublayers: [Layer] { children.map(\.layer) }
}

extension Layer {
  /// Learned parameter count, as `sum(p.numel() for p in model.parameters())`.
  public var parameterCount: Int {
    var total = 0
    visitState(prefix: "") { _, kind, t in if kind == .parameter { total += t.count } }
    return total
  }
}

/// Joins a prefix and a name with a dot, as PyTorch's module paths do.
func qualified(_ prefix: String, _ name: String) -> String {
  prefix.isEmpty ? name : prefix + "." + name
}

/// ReLU6 in place, reported to the pass's observer like `relu` (MobileNetV2's activation).
public func relu6(_ x: inout Tensor, _ mode: ForwardMode) {
  relu6_forward(&x)
  mode.observer?.observeActivation(x)
}

/// ReLU6's gradient through the output a composite kept from its forward pass. Takes
/// ownership of `dy`, so a temporary gradient is masked in place rather than copied.
func relu6Backward(output: Tensor, _ dy: consuming Tensor) throws(TensorError) -> Tensor {
  try relu6_backward(output: output, dOutput: &dy)
  return dy
}

/// ReLU's gradient through the output a composite kept from its forward pass (in place
/// on a temporary `dy`, as `relu6Backward`).
func reluBackward(output: Tensor, _ dy: consuming Tensor) throws(TensorError) -> Tensor {
  try relu_backward(output: output, dOutput: &dy)
  return dy
}

/// The error of a backward pass with nothing recorded to differentiate.
func missingRecord(_ layer: String) -> TensorError {
  .invalidArgument(
    "\(layer).backward needs the last forward pass to record for backward "
      + "(ForwardMode.recordsForBackward, e.g. .trainingStep); it did not")
}

/// Makes `gradient` a buffer of `value`'s shape: zeros on first use, kept afterwards.
@inline(__always)
func prepareGradient(_ gradient: inout Tensor?, for value: Tensor) {
  if gradient?.shape != value.shape { gradient = Tensor(zeros: value.shape) }
}

/// Zeroes a gradient buffer in place (nothing to do before it exists).
@inline(__always)
func zeroFill(_ gradient: inout Tensor?) {
  guard gradient != nil else { return }
  gradient!.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
}

/// Output shape and MACs of `layers` applied one after another to `input`, with `macs`
/// already counted before them: the walk every sequential network's `outputShapeAndMACs`
/// makes through its blocks.
func chainedShapeAndMACs(
  _ layers: [any Layer], input: [Int], macs: Int = 0
) throws(TensorError) -> (shape: [Int], macs: Int) {
  var (shape, total) = (input, macs)
  for layer in layers {
    let r = try layer.outputShapeAndMACs(input: shape)
    (shape, total) = (r.shape, total + r.macs)
  }
  return (shape, total)
}
