import DiswotTensor

/// A NAS-Bench-201 cell at a fixed width (`InferCell` with stride 1 and equal input and
/// output channels, the only kind the benchmark's networks contain).
///
/// Every edge is a module of the reference's `layers` list in `NASBench201Genotype.edges`
/// order, `none` included, so a convolution on edge e is named `layers.{e}.op.{1,2}`
/// whatever the other edges carry; only convolution edges have state.
public final class NASBench201Cell: Layer {
  /// What one edge computes.
  public enum Edge {
    /// `none`: contributes nothing to its node.
    case zero
    /// `skip_connect`: the input node itself.
    case identity
    /// `nor_conv_1x1`, `nor_conv_3x3`.
    case conv(ReLUConvBN)
    /// `avg_pool_3x3`: stride 1, padding 1, count_include_pad=False.
    case avgPool
  }

  public let genotype: NASBench201Genotype
  public let channels: Int
  /// One per genotype edge, in `NASBench201Genotype.edges` order.
  public let edges: [Edge]
  /// The input shape of the last recording forward pass (every node has this shape);
  /// the convolution edges keep their own records.
  private var recordedShape: [Int]?

  static let pool = Pool2dGeometry(kernel: 3, stride: 1, padding: 1)

  public init(genotype: NASBench201Genotype, channels: Int) throws(TensorError) {
    self.genotype = genotype
    self.channels = channels
    var edges: [Edge] = []
    for op in genotype.ops {
      switch op {
      case .none: edges.append(.zero)
      case .skipConnect: edges.append(.identity)
      case .avgPool3x3: edges.append(.avgPool)
      case .conv1x1:
        edges.append(.conv(try ReLUConvBN(Conv2dGeometry(inChannels: channels, outChannels: channels, kernel: 1))))
      case .conv3x3:
        edges.append(.conv(try ReLUConvBN(Conv2dGeometry(inChannels: channels, outChannels: channels, kernel: 3, padding: 1))))
      }
    }
    self.edges = edges
  }

  /// Node i = Σ_{j<i} op_{i←j}(node j), output node 3; x: [N, C, H, W] -> [N, C, H, W].
  ///
  /// Every non-`none` edge runs, even from a node that no path connects to the output,
  /// as in the reference: its ReLUs reach the observer and its batch norms see the batch.
  /// A node whose inputs are all `none` is zero (the reference's `x.mul(0.0)`), so a
  /// cell cut off from its input returns zeros.
  public func forward(_ x: Tensor, mode: ForwardMode) throws(TensorError) -> Tensor {
    guard x.rank == 4, x.c == channels else {
      throw .shapeMismatch("NAS-Bench-201 cell over \(channels) channels got input \(x.shape)")
    }
    recordedShape = nil
    var nodes = [x]
    for i in 1...3 {
      var sum: Tensor?
      for j in 0..<i {
        // Edges into node i follow those into nodes 1…i-1: i(i-1)/2 of them.
        let term: Tensor
        switch edges[i * (i - 1) / 2 + j] {
        case .zero: continue
        case .identity: term = nodes[j]
        case .conv(let op): term = try op.forward(nodes[j], mode: mode)
        case .avgPool: term = try avgpool2d_forward(nodes[j], geometry: Self.pool, countIncludePad: false)
        }
        if sum == nil { sum = term } else { try add_forward(&sum!, term) }
      }
      nodes.append(sum ?? Tensor(zeros: x.shape))
    }
    if mode.recordsForBackward { recordedShape = x.shape }
    return nodes[3]
  }

  /// Nodes from the output back: when node i is reached every consumer of it (a later
  /// node) has added its share, so its gradient is complete and flows on along each of
  /// its incoming edges. A node no path connects to the output gets no gradient, and the
  /// edges out of it none either (their parameters' gradients stay as they were).
  public func backward(_ dy: Tensor) throws(TensorError) -> Tensor {
    guard let shape = recordedShape else { throw missingRecord("NASBench201Cell") }
    var gradients: [Tensor?] = [nil, nil, nil, dy]
    for i in stride(from: 3, through: 1, by: -1) {
      guard let dNode = gradients[i] else { continue }
      for j in 0..<i {
        let term: Tensor
        switch edges[i * (i - 1) / 2 + j] {
        case .zero: continue
        case .identity: term = dNode
        case .conv(let op): term = try op.backward(dNode)
        case .avgPool:
          term = try avgpool2d_backward(dNode, inputShape: shape, geometry: Self.pool, countIncludePad: false)
        }
        if gradients[j] == nil { gradients[j] = term } else { try add_forward(&gradients[j]!, term) }
      }
    }
    return gradients[0] ?? Tensor(zeros: shape)
  }

  /// The convolution edges, `layers.{e}` (e the edge's index among all six).
  public var children: [(name: String, layer: Layer)] {
    edges.enumerated().compactMap { e, edge in
      if case .conv(let op) = edge { return ("layers.\(e)", op) } else { return nil }
    }
  }

  /// Convolution MACs only; pooling and sums are not counted.
  public func outputShapeAndMACs(input: [Int]) throws(TensorError) -> (shape: [Int], macs: Int) {
    guard input.count == 4, input[1] == channels else {
      throw .shapeMismatch("NAS-Bench-201 cell over \(channels) channels got input \(input)")
    }
    var macs = 0
    for edge in edges {
      if case .conv(let op) = edge { macs += try op.outputShapeAndMACs(input: input).macs }
    }
    return (input, macs)
  }
}
