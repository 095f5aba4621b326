extension PyTorchModule {
  /// torchvision's MobileNetV2 modules with each block's expansion and depthwise kernel
  /// chosen, computing as `MobileNetV2Network` does.
  static let mobileNetV2Definitions = """
    class ConvBNReLU6(nn.Sequential):
        \"\"\"Convolution (no bias), batch norm, ReLU6: torchvision's Conv2dNormActivation.\"\"\"

        def __init__(self, c_in, c_out, kernel, stride=1, groups=1):
            super().__init__(
                nn.Conv2d(c_in, c_out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU6(inplace=True),
            )


    class InvertedResidual(nn.Module):
        \"\"\"Expand (1x1, skipped when the expansion is 1), filter each channel (k x k
        depthwise), project (1x1, batch norm, no activation); the input is added when the
        stride is 1 and the widths agree.
        \"\"\"

        def __init__(self, c_in, c_out, stride, expansion, kernel):
            super().__init__()
            hidden = c_in * expansion
            layers = [] if expansion == 1 else [ConvBNReLU6(c_in, hidden, 1)]
            layers += [
                ConvBNReLU6(hidden, hidden, kernel, stride, groups=hidden),
                nn.Conv2d(hidden, c_out, 1, bias=False),
                nn.BatchNorm2d(c_out),
            ]
            self.conv = nn.Sequential(*layers)
            self.residual = stride == 1 and c_in == c_out

        def forward(self, x):
            out = self.conv(x)
            return out + x if self.residual else out


    class MobileNetV2(nn.Module):
        \"\"\"`features`: the stem, the inverted residual blocks, a 1x1 head; global average
        pooling; `classifier.1`. Index 0 of `classifier` is torchvision's dropout, an
        identity here because diswot trains and scores without it.
        \"\"\"

        def __init__(self, stages, stem_width, stem_stride, last_width, num_classes, in_channels):
            super().__init__()
            features = [ConvBNReLU6(in_channels, stem_width, 3, stem_stride)]
            c_in = stem_width
            for width, stride, blocks in stages:
                for j, (expansion, kernel) in enumerate(blocks):
                    features.append(InvertedResidual(c_in, width, stride if j == 0 else 1, expansion, kernel))
                    c_in = width
            features.append(ConvBNReLU6(c_in, last_width, 1))
            self.features = nn.Sequential(*features)
            self.classifier = nn.Sequential(nn.Identity(), nn.Linear(last_width, num_classes))

        def forward(self, x):
            out = F.adaptive_avg_pool2d(self.features(x), 1).flatten(1)
            return self.classifier(out)
    """

  /// `class Student` for one MobileNetV2 network.
  static func mobileNetV2Student(_ d: MobileNetV2Description) -> String {
    let stages = d.stages.map { stage in
      let blocks = stage.blocks.map { "(\($0.expansion), \($0.kernel))" }.joined(separator: ", ")
      return "                (\(stage.width), \(stage.stride), [\(blocks)]),"
    }.joined(separator: "\n")
    return """
      class Student(MobileNetV2):
          \"\"\"\(d.name).\"\"\"

          def __init__(self):
              super().__init__(
                  # (width, stride of the first block, [(expansion, kernel) of each block])
                  stages=[
      \(stages)
                  ],
                  stem_width=\(d.stemWidth),
                  stem_stride=\(d.stemStride),
                  last_width=\(d.lastWidth),
                  num_classes=\(d.classCount),
                  in_channels=\(d.inputChannels),
              )
      """
  }
}
