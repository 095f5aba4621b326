#!/usr/bin/env python3
"""Writes cifar10-resnet20-pytorch.safetensors beside this script: the shared pretrained
ResNet-20 teacher (../shared/teachers/cifar10-resnet20.safetensors, which has no
`num_batches_tracked`) loaded into pytorch_resnet_cifar10's ResNet-20 and saved back by
PyTorch exactly as the README's recipe does, `save_file(model.state_dict(), …)`: no
metadata, and the int64 counters PyTorch keeps for every batch norm (0 here: the
converted teacher carries no count). EvalCommandTests evaluates it with `diswot eval`.

Also prints PyTorch's own top-1 on the shared CIFAR-10 test images, for comparison.
Run from anywhere (PyTorch 2.x, safetensors): python3 make_resnet20_pytorch.py [SHARED_DIR]
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "..", "..", "shared")


class LambdaLayer(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class BasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            pad = planes // 4
            self.shortcut = LambdaLayer(lambda x: F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, pad, pad), "constant", 0))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet20(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.in_planes = 16
        self.layer1 = self._stage(16, 1)
        self.layer2 = self._stage(32, 2)
        self.layer3 = self._stage(64, 2)
        self.linear = nn.Linear(64, 10)

    def _stage(self, planes, stride):
        blocks = []
        for s in [stride, 1, 1]:
            blocks.append(BasicBlock(self.in_planes, planes, s))
            self.in_planes = planes
        return nn.Sequential(*blocks)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        return self.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))


def main():
    model = ResNet20()
    result = model.load_state_dict(load_file(os.path.join(SHARED, "teachers", "cifar10-resnet20.safetensors")), strict=False)
    assert not result.unexpected_keys and all(k.endswith("num_batches_tracked") for k in result.missing_keys), result
    model.eval()
    save_file(model.state_dict(), os.path.join(HERE, "cifar10-resnet20-pytorch.safetensors"))

    records = np.fromfile(os.path.join(SHARED, "datasets", "cifar10-subset", "test_batch.bin"), dtype=np.uint8)
    records = records.reshape(-1, 3073)
    images = torch.from_numpy(records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        predictions = model((images - mean) / std).argmax(1)
    correct = int((predictions == torch.from_numpy(records[:, 0].astype(np.int64))).sum())
    print(f"PyTorch top-1: {correct}/{len(records)}")


if __name__ == "__main__":
    main()
