#!/usr/bin/env python3
"""Writes the PyTorch state-dict fixtures beside this script (PyTorch 2.x, safetensors).

For each model family diswot builds, a small network defined here after its reference
code (pytorch_resnet_cifar10 for option-A ResNets, RepDistiller for option B,
AutoDL-Projects' TinyNetwork for NAS-Bench-201, torchvision for MobileNetV2) is seeded,
run in training mode on three random batches (so its running statistics are not the
defaults and every `num_batches_tracked` is 3), and saved exactly as the README says a
user would: `safetensors.torch.save_file(model.state_dict(), "<family>.safetensors")`,
no metadata, int64 counters included. `<family>-io.safetensors` holds an input batch and
the model's inference-mode logits for it.

The architectures are those DiswotModelsTests/PyTorchStateDictTests builds. Run from
anywhere: python3 make_fixtures.py
"""
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))


# --- CIFAR ResNets -------------------------------------------------------------------

class LambdaLayer(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class BasicBlock(nn.Module):
    """pytorch_resnet_cifar10's block (option A) or RepDistiller's (option B)."""

    def __init__(self, in_planes, planes, stride, option):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            if option == "A":
                pad = (planes - in_planes) // 2
                self.shortcut = LambdaLayer(
                    lambda x: F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, pad, pad), "constant", 0))
            else:
                self.shortcut = None
                self.downsample = nn.Sequential(
                    nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (self.downsample(x) if self.shortcut is None else self.shortcut(x)))


class ResNet(nn.Module):
    def __init__(self, blocks, widths, option, classifier, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        in_planes = widths[0]
        for s, (n, w) in enumerate(zip(blocks, widths)):
            layers = []
            for j in range(n):
                layers.append(BasicBlock(in_planes, w, 2 if s > 0 and j == 0 else 1, option))
                in_planes = w
            setattr(self, f"layer{s + 1}", nn.Sequential(*layers))
        self.stages = len(blocks)
        self.classifier_name = classifier
        setattr(self, classifier, nn.Linear(in_planes, num_classes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        for s in range(self.stages):
            out = getattr(self, f"layer{s + 1}")(out)
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return getattr(self, self.classifier_name)(out)


# --- NAS-Bench-201 (AutoDL-Projects' TinyNetwork) -------------------------------------

class ReLUConvBN(nn.Module):
    def __init__(self, c_in, c_out, kernel, stride, padding):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False), nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out))

    def forward(self, x):
        return self.op(x)


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


def operation(name, c):
    return {
        "none": lambda: Zero(),
        "skip_connect": lambda: nn.Identity(),
        "nor_conv_1x1": lambda: ReLUConvBN(c, c, 1, 1, 0),
        "nor_conv_3x3": lambda: ReLUConvBN(c, c, 3, 1, 1),
        "avg_pool_3x3": lambda: nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
    }[name]()


class InferCell(nn.Module):
    def __init__(self, genotype, c):
        super().__init__()
        self.layers = nn.ModuleList()
        self.node_in = []
        for node in genotype.split("+"):
            inputs = []
            for edge in node.strip("|").split("|"):
                name, source = edge.split("~")
                inputs.append((len(self.layers), int(source)))
                self.layers.append(operation(name, c))
            self.node_in.append(inputs)

    def forward(self, x):
        nodes = [x]
        for inputs in self.node_in:
            nodes.append(sum(self.layers[e](nodes[j]) for e, j in inputs))
        return nodes[-1]


class ResNetBasicblock(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x):
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class TinyNetwork(nn.Module):
    def __init__(self, genotype, c, n, num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        cells, widths = [], [c, 2 * c, 4 * c]
        for s, w in enumerate(widths):
            if s > 0:
                cells.append(ResNetBasicblock(widths[s - 1], w))
            cells += [InferCell(genotype, w) for _ in range(n)]
        self.cells = nn.ModuleList(cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(4 * c), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(4 * c, num_classes)

    def forward(self, x):
        out = self.stem(x)
        for cell in self.cells:
            out = cell(out)
        out = self.global_pooling(self.lastact(out)).flatten(1)
        return self.classifier(out)


# --- MobileNetV2 (torchvision's modules, per-block expansion and kernel) ---------------

class ConvBNReLU6(nn.Sequential):
    def __init__(self, c_in, c_out, kernel, stride=1, groups=1):
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(c_out), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, c_in, c_out, stride, expansion, kernel):
        super().__init__()
        hidden = c_in * expansion
        layers = [] if expansion == 1 else [ConvBNReLU6(c_in, hidden, 1)]
        layers += [ConvBNReLU6(hidden, hidden, kernel, stride, groups=hidden),
                   nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
        self.conv = nn.Sequential(*layers)
        self.use_res_connect = stride == 1 and c_in == c_out

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, stages, stem, stem_stride, last, num_classes=10):
        super().__init__()
        features, c = [ConvBNReLU6(3, stem, 3, stem_stride)], stem
        for width, stride, blocks in stages:
            for j, (t, k) in enumerate(blocks):
                features.append(InvertedResidual(c, width, stride if j == 0 else 1, t, k))
                c = width
        features.append(ConvBNReLU6(c, last, 1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))

    def forward(self, x):
        return self.classifier(F.adaptive_avg_pool2d(self.features(x), 1).flatten(1))


FAMILIES = {
    "resnet-a": lambda: ResNet([1, 2, 1], [4, 8, 16], "A", "linear"),
    "resnet-b": lambda: ResNet([1, 1, 2], [8, 16, 24], "B", "fc"),
    "nasbench201": lambda: TinyNetwork(
        "|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|", 4, 1),
    "mobilenetv2": lambda: MobileNetV2(
        [(8, 1, [(1, 3)]), (12, 2, [(6, 5), (3, 7)])], stem=8, stem_stride=1, last=32),
}


def main():
    for index, (family, make) in enumerate(FAMILIES.items()):
        torch.manual_seed(index)
        model = make()
        model.train()
        with torch.no_grad():
            for _ in range(3):
                model(torch.randn(4, 3, 16, 16) * 2 + 0.5)
        model.eval()
        x = torch.randn(2, 3, 16, 16)
        with torch.no_grad():
            logits = model(x)
        save_file(model.state_dict(), os.path.join(HERE, f"{family}.safetensors"))
        save_file({"input": x, "logits": logits}, os.path.join(HERE, f"{family}-io.safetensors"))
        print(family, len(model.state_dict()), "entries")


if __name__ == "__main__":
    main()
