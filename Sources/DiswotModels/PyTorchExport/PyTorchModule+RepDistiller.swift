extension PyTorchModule {
  /// `WideResNet` and `WideBasicBlock` in PyTorch under RepDistiller's names
  /// (`block{s}.layer.{j}`, `convShortcut`), computing as they do.
  static let wideResNetDefinitions = """
    class WideBasicBlock(nn.Module):
        \"\"\"RepDistiller's pre-activation wide-ResNet block without dropout.

        a = relu(bn1(x)); out = conv2(relu(bn2(conv1(a)))) plus x, or plus convShortcut(a)
        (a strided 1x1 convolution of the activated input) when the width changes.
        \"\"\"

        def __init__(self, in_planes, out_planes, stride):
            super().__init__()
            self.bn1 = nn.BatchNorm2d(in_planes)
            self.conv1 = nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(out_planes)
            self.conv2 = nn.Conv2d(out_planes, out_planes, 3, stride=1, padding=1, bias=False)
            self.equal = in_planes == out_planes
            if not self.equal:
                self.convShortcut = nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False)

        def forward(self, x):
            a = F.relu(self.bn1(x))
            out = self.conv2(F.relu(self.bn2(self.conv1(a))))
            return out + (x if self.equal else self.convShortcut(a))


    class NetworkBlock(nn.Module):
        \"\"\"A stage, its blocks in `layer` (RepDistiller's container).\"\"\"

        def __init__(self, blocks, in_planes, out_planes, stride):
            super().__init__()
            self.layer = nn.Sequential(*[
                WideBasicBlock(in_planes if j == 0 else out_planes, out_planes, stride if j == 0 else 1)
                for j in range(blocks)])

        def forward(self, x):
            return self.layer(x)


    class WideResNet(nn.Module):
        \"\"\"RepDistiller's wide ResNet of depth 6n+4 and widening factor k.

        A 3x3 stem convolution to 16 channels; stages block1..block3 of n blocks, 16k, 32k
        and 64k wide, the last two starting with stride 2; batch norm and ReLU; global
        average pooling (RepDistiller's 8x8 window on 32x32 inputs); a linear `fc`.
        \"\"\"

        def __init__(self, depth, widen_factor, num_classes, in_channels):
            super().__init__()
            n, k = (depth - 4) // 6, widen_factor
            channels = [16, 16 * k, 32 * k, 64 * k]
            self.conv1 = nn.Conv2d(in_channels, channels[0], 3, padding=1, bias=False)
            self.block1 = NetworkBlock(n, channels[0], channels[1], 1)
            self.block2 = NetworkBlock(n, channels[1], channels[2], 2)
            self.block3 = NetworkBlock(n, channels[2], channels[3], 2)
            self.bn1 = nn.BatchNorm2d(channels[3])
            self.fc = nn.Linear(channels[3], num_classes)

        def forward(self, x):
            out = self.block3(self.block2(self.block1(self.conv1(x))))
            out = F.adaptive_avg_pool2d(F.relu(self.bn1(out)), 1).flatten(1)
            return self.fc(out)
    """

  /// `class Student` for one wide ResNet.
  static func wideResNetStudent(_ d: WideResNetDescription) -> String {
    """
    class Student(WideResNet):
        \"\"\"\(d.name): depth \(d.depth), widening factor \(d.widenFactor).\"\"\"

        def __init__(self):
            super().__init__(depth=\(d.depth), widen_factor=\(d.widenFactor), num_classes=\(d.classCount), in_channels=\(d.inputChannels))
    """
  }

  /// `VGGNetwork` in PyTorch under RepDistiller's names (`block{b}.{3k}` convolutions,
  /// `block{b}.{3k+1}` batch norms, `classifier`), computing as it does.
  static let vggDefinitions = """
    class VGG(nn.Module):
        \"\"\"RepDistiller's CIFAR VGG with batch norm.

        Five blocks of 3x3 convolutions (with bias), each followed by batch norm and ReLU
        (the block's last ReLU is applied outside its Sequential, as in RepDistiller); 2x2
        max pools after blocks 0-2, and after block 3 on 64x64 inputs only; global average
        pooling; a linear `classifier` over 512 features.
        \"\"\"

        def __init__(self, blocks, num_classes, in_channels):
            super().__init__()
            c = in_channels
            for b, widths in enumerate(blocks):
                layers = []
                for width in widths:
                    layers += [nn.Conv2d(c, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
                    c = width
                setattr(self, f"block{b}", nn.Sequential(*layers[:-1]))
            self.classifier = nn.Linear(c, num_classes)

        def forward(self, x):
            pool_block3 = x.shape[2] == 64
            out = x
            for b in range(5):
                out = F.relu(getattr(self, f"block{b}")(out))
                if b < 3 or (b == 3 and pool_block3):
                    out = F.max_pool2d(out, 2, 2)
            return self.classifier(F.adaptive_avg_pool2d(out, 1).flatten(1))
    """

  /// `class Student` for one VGG.
  static func vggStudent(_ d: VGGDescription) -> String {
    """
    class Student(VGG):
        \"\"\"\(d.name) with batch norm.\"\"\"

        def __init__(self):
            super().__init__(
                blocks=[\(d.blocks.map(pythonList).joined(separator: ", "))],
                num_classes=\(d.classCount),
                in_channels=\(d.inputChannels),
            )
    """
  }
}
