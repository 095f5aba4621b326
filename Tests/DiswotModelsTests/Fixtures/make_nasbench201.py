"""Writes nasbench201.safetensors: a NAS-Bench-201 network's PyTorch outputs, the oracle
for NASBench201Tests.testMatchesPyTorchReference.

The network is written here from the benchmark's definition (Dong & Yang, ICLR 2020:
stem conv3x3 + BN; N cells, a residual reduction block, N cells, a reduction block, N
cells; BN + ReLU, global average pooling, linear classifier; a cell's node i is the sum
over j < i of op_{i,j}(node j), convolutions are ReLU-Conv-BN, pooling excludes padding)
with the state_dict names of AutoDL-Projects' TinyNetwork. Random weights and batch-norm
statistics; outputs in inference mode and in training mode (batch statistics).

Usage: python3 make_nasbench201.py [OUT]   (needs torch and safetensors)
"""
import sys

import torch
from safetensors.torch import save_file
from torch import nn

GENOTYPE = "|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
CHANNELS, CELLS_PER_STAGE, CLASSES = 4, 2, 10


class ReLUConvBN(nn.Module):
    def __init__(self, c_in, c_out, kernel, stride):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out))

    def forward(self, x):
        return self.op(x)


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


def operation(name, c):
    if name == "nor_conv_3x3":
        return ReLUConvBN(c, c, 3, 1)
    if name == "nor_conv_1x1":
        return ReLUConvBN(c, c, 1, 1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    if name == "skip_connect":
        return nn.Identity()
    if name == "none":
        return Zero()
    raise ValueError(name)


class Cell(nn.Module):
    """Edges in the genotype string's order: (1←0), (2←0), (2←1), (3←0), (3←1), (3←2)."""

    def __init__(self, genotype, c):
        super().__init__()
        self.edges = []
        layers = []
        for node, text in enumerate(genotype.strip("|").split("|+|"), start=1):
            for item in text.strip("|").split("|"):
                name, source = item.split("~")
                self.edges.append((node, int(source)))
                layers.append(operation(name, c))
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        nodes = [x]
        for node in range(1, 4):
            nodes.append(sum(layer(nodes[source]) for layer, (target, source)
                             in zip(self.layers, self.edges) if target == node))
        return nodes[3]


class Reduction(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(2, stride=2, padding=0), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x):
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class Network(nn.Module):
    def __init__(self):
        super().__init__()
        widths = [CHANNELS, 2 * CHANNELS, 4 * CHANNELS]
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0]))
        cells = []
        for s, width in enumerate(widths):
            if s > 0:
                cells.append(Reduction(widths[s - 1], width))
            cells += [Cell(GENOTYPE, width) for _ in range(CELLS_PER_STAGE)]
        self.cells = nn.ModuleList(cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(widths[2]), nn.ReLU(inplace=True))
        self.classifier = nn.Linear(widths[2], CLASSES)

    def forward(self, x):
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x)
        features = self.lastact(x)
        return features, self.classifier(features.mean(dim=(2, 3)))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "nasbench201.safetensors"
    torch.manual_seed(0)
    net = Network()
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 1.5)
    x = torch.randn(2, 3, 16, 16)
    net.eval()
    with torch.no_grad():
        features, logits = net(x)
    tensors = {k: v.clone() for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    net.train()
    with torch.no_grad():
        _, training = net(x)
    tensors.update({
        "fixture.input": x, "fixture.features.inference": features,
        "fixture.logits.inference": logits, "fixture.logits.training": training})
    save_file({k: v.contiguous() for k, v in tensors.items()}, out, metadata={
        "genotype": GENOTYPE, "cells_per_stage": str(CELLS_PER_STAGE), "channels": str(CHANNELS)})


if __name__ == "__main__":
    main()
