extension PyTorchModule {
  /// `TorchvisionResNet`, `BasicBlock` and `Bottleneck` in PyTorch, with torchvision's
  /// module names (so torchvision's own `resnet18()` … load the same state dicts), stages
  /// and widths free as in `TorchvisionResNetDescription`.
  static let torchvisionResNetDefinitions = """
    class BasicBlock(nn.Module):
        \"\"\"relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), torchvision's BasicBlock.\"\"\"

        expansion = 1

        def __init__(self, in_planes, planes, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = None
            if stride != 1 or in_planes != planes:
                self.downsample = nn.Sequential(
                    nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + (x if self.downsample is None else self.downsample(x)))


    class Bottleneck(nn.Module):
        \"\"\"1x1 reduce, 3x3 with the stride (ResNet v1.5), 1x1 expand to 4x; torchvision's Bottleneck.\"\"\"

        expansion = 4

        def __init__(self, in_planes, planes, stride):
            super().__init__()
            out_planes = planes * self.expansion
            self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv3 = nn.Conv2d(planes, out_planes, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(out_planes)
            self.downsample = None
            if stride != 1 or in_planes != out_planes:
                self.downsample = nn.Sequential(
                    nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False), nn.BatchNorm2d(out_planes))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = F.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            return F.relu(out + (x if self.downsample is None else self.downsample(x)))


    class TorchvisionResNet(nn.Module):
        \"\"\"torchvision's ResNet layout: 7x7 stride-2 stem to 64 channels, 3x3 stride-2 max
        pool, stages `layer1`, `layer2`, ... (each after the first starting with stride 2),
        global average pooling, classifier `fc`.
        \"\"\"

        def __init__(self, block, blocks_per_stage, widths, num_classes, in_channels):
            super().__init__()
            block = {"basic": BasicBlock, "bottleneck": Bottleneck}[block]
            self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
            self.stage_names = []
            in_planes = 64
            for s, (blocks, width) in enumerate(zip(blocks_per_stage, widths)):
                stage = []
                for j in range(blocks):
                    stage.append(block(in_planes, width, 2 if s > 0 and j == 0 else 1))
                    in_planes = width * block.expansion
                self.stage_names.append(f"layer{s + 1}")
                setattr(self, self.stage_names[-1], nn.Sequential(*stage))
            self.fc = nn.Linear(in_planes, num_classes)

        def forward(self, x):
            out = self.maxpool(F.relu(self.bn1(self.conv1(x))))
            for name in self.stage_names:
                out = getattr(self, name)(out)
            return self.fc(F.adaptive_avg_pool2d(out, 1).flatten(1))
    """

  /// `class Student` for one torchvision-layout ResNet.
  static func torchvisionResNetStudent(_ d: TorchvisionResNetDescription) -> String {
    """
    class Student(TorchvisionResNet):
        \"\"\"\(d.name): \(d.depth) layers of \(d.block.rawValue) blocks.\"\"\"

        def __init__(self):
            super().__init__(
                block="\(d.block.rawValue)",
                blocks_per_stage=\(pythonList(d.blocksPerStage)),
                widths=\(pythonList(d.widths)),
                num_classes=\(d.classCount),
                in_channels=\(d.inputChannels),
            )
    """
  }
}
