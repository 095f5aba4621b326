"""resnet-d1_2_1-w4_8_16 as a PyTorch module, written by `diswot export`.

Self-contained: needs PyTorch only. The state_dict names, shapes and dtypes are those of
diswot's safetensors files (num_batches_tracked included), so

    from safetensors.torch import load_file
    model = Student()
    model.load_state_dict(load_file("student.safetensors"), strict=True)
    model.eval()

loads weights diswot trained or exported and computes diswot's logits for [N, C, H, W]
images scaled to [0, 1] and normalised per channel with MEAN and STD.
"""

import torch
import torch.nn.functional as F
from torch import nn

ARCHITECTURE = "resnet-d1_2_1-w4_8_16"
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


class BasicBlock(nn.Module):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)).

    The shortcut is the identity unless the stride or the width changes. Then option A
    keeps every stride-th pixel and zero-pads the new channels evenly before and after
    the old ones (no parameters, as in the original CIFAR ResNets), and option B is a
    strided 1x1 convolution and batch norm named `downsample`.
    """

    def __init__(self, in_planes, planes, stride, shortcut):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.stride = stride
        self.pad = 0
        self.projects = shortcut == "B" and (stride != 1 or in_planes != planes)
        if self.projects:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes))
        elif in_planes != planes:
            self.pad = (planes - in_planes) // 2

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.projects:
            shortcut = self.downsample(x)
        elif self.stride != 1 or self.pad != 0:
            shortcut = F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, self.pad, self.pad))
        else:
            shortcut = x
        return F.relu(out + shortcut)


class ResNetCIFAR(nn.Module):
    """A CIFAR ResNet of basic blocks (He et al. 2016, section 4.2).

    A 3x3 stem convolution (to `stem` channels, by default the first stage's width)
    with batch norm and ReLU; stages `layer1`, `layer2`, ... of basic blocks, every
    stage after the first starting with stride 2; global average pooling; a linear
    classifier named `linear` (pytorch_resnet_cifar10) or `fc` (RepDistiller).
    """

    def __init__(self, blocks_per_stage, widths, shortcut, classifier, num_classes, in_channels, stem=None):
        super().__init__()
        in_planes = stem or widths[0]
        self.conv1 = nn.Conv2d(in_channels, in_planes, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.stage_names = []
        for s, (blocks, width) in enumerate(zip(blocks_per_stage, widths)):
            stage = []
            for j in range(blocks):
                stage.append(BasicBlock(in_planes, width, 2 if s > 0 and j == 0 else 1, shortcut))
                in_planes = width
            self.stage_names.append(f"layer{s + 1}")
            setattr(self, self.stage_names[-1], nn.Sequential(*stage))
        self.classifier_name = classifier
        setattr(self, classifier, nn.Linear(in_planes, num_classes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        for name in self.stage_names:
            out = getattr(self, name)(out)
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return getattr(self, self.classifier_name)(out)


class Student(ResNetCIFAR):
    """resnet-d1_2_1-w4_8_16: 10 layers, option-A shortcuts."""

    def __init__(self):
        super().__init__(
            blocks_per_stage=[1, 2, 1],
            widths=[4, 8, 16],
            shortcut="A",
            classifier="linear",
            num_classes=10,
            in_channels=3,
        )
