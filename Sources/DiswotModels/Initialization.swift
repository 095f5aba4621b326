import DiswotTensor

/// How a freshly built network's weights are drawn, following PyTorch so that a
/// student scored here starts from the same distribution as one built in PyTorch.
public enum InitializationScheme: String, Sendable, Codable, CaseIterable {
  /// Convolutions: Kaiming-normal, fan-out, ReLU gain (`nn.init.kaiming_normal_(w,
  /// mode="fan_out", nonlinearity="relu")`, what CIFAR ResNet code does); linear layers:
  /// PyTorch's default; batch norm: weight 1, bias 0.
  case kaimingNormalFanOut = "kaiming-fan-out"
  /// PyTorch's constructor defaults everywhere: U(±1/sqrt(fan_in)) for convolution and
  /// linear weights and biases (`kaiming_uniform_(a=sqrt(5))`), batch norm weight 1, bias 0.
  case pytorchDefault = "pytorch-default"
}

extension Layer {
  /// Draws fresh weights with `scheme` from `rng`, layer by layer in forward order, and
  /// resets batch-norm statistics.
  public func initialize(_ scheme: InitializationScheme, using rng: inout SeededGenerator) {
    switch self {
    case let conv as Conv2d:
      let g = conv.geometry
      let receptive = g.kernelH * g.kernelW
      let fanInBound = 1 / Float((g.inChannels / g.groups) * receptive).squareRoot()
      switch scheme {
      case .kaimingNormalFanOut:
        // PyTorch's fan-out is weight.size(0) * receptive field, whatever the groups.
        let std = (2 / Float(g.outChannels * receptive)).squareRoot()
        conv.weight = .normal(conv.weight.shape, std: std, using: &rng)
      case .pytorchDefault:
        conv.weight = .uniform(conv.weight.shape, low: -fanInBound, high: fanInBound, using: &rng)
      }
      if let bias = conv.bias {
        conv.bias = .uniform(bias.shape, low: -fanInBound, high: fanInBound, using: &rng)
      }
    case let bn as BatchNorm2d:
      bn.state = BatchNormState(channels: bn.state.channels)
    case let linear as Linear:
      let bound = 1 / Float(linear.inFeatures).squareRoot()
      linear.weight = .uniform(linear.weight.shape, low: -bound, high: bound, using: &rng)
      linear.bias = .uniform(linear.bias.shape, low: -bound, high: bound, using: &rng)
    default:
      for (_, child) in children { child.initialize(scheme, using: &rng) }
    }
  }
}
