"""nb201-c4-n1-12153 as a PyTorch module, written by `diswot export`.

Self-contained: needs PyTorch only. The state_dict names, shapes and dtypes are those of
diswot's safetensors files (num_batches_tracked included), so

    from safetensors.torch import load_file
    model = Student()
    model.load_state_dict(load_file("student.safetensors"), strict=True)
    model.eval()

loads weights diswot trained or exported and computes diswot's logits for [N, C, H, W]
images scaled to [0, 1] and normalised as the weights were trained (not recorded where
this file was exported from).
"""

import torch
import torch.nn.functional as F
from torch import nn

ARCHITECTURE = "nb201-c4-n1-12153"
MEAN = STD = None  # the input normalisation was not recorded


EDGES = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)]  # (to, from), the cell's edge order


class ReLUConvBN(nn.Module):
    """ReLU (not in place: a node feeds several edges), convolution, batch norm."""

    def __init__(self, c_in, c_out, kernel, stride, padding):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out),
        )

    def forward(self, x):
        return self.op(x)


class Zero(nn.Module):
    """The `none` operation; its edge is left out of the sum."""

    def forward(self, x):
        return x.mul(0.0)


def operation(name, channels):
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1, 0)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1, 1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"unknown NAS-Bench-201 operation {name!r}")


class Cell(nn.Module):
    """Node i = sum over j < i of op(i <- j)(node j); the output is node 3.

    Every edge is a module of `layers` in EDGES order, `none` included, so a
    convolution on edge e is `layers.{e}.op.{1,2}` whatever the other edges carry.
    """

    def __init__(self, ops, channels):
        super().__init__()
        self.ops = list(ops)
        self.layers = nn.ModuleList(operation(op, channels) for op in ops)

    def forward(self, x):
        nodes = [x]
        for i in range(1, 4):
            total = None
            for e, (to, j) in enumerate(EDGES):
                if to != i or self.ops[e] == "none":
                    continue
                term = self.layers[e](nodes[j])
                total = term if total is None else total + term
            nodes.append(torch.zeros_like(x) if total is None else total)
        return nodes[3]


class ReductionBlock(nn.Module):
    """Between stages: conv_b(conv_a(x)) + downsample(x), halving the resolution."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x):
        return self.conv_b(self.conv_a(x)) + self.downsample(x)


class NASBench201Network(nn.Module):
    """Stem; N cells at C channels, a reduction block, N cells at 2C, a reduction
    block, N cells at 4C (all in `cells`); batch norm and ReLU; global average pooling;
    a linear classifier.
    """

    def __init__(self, cell, channels, cells_per_stage, num_classes, in_channels):
        super().__init__()
        ops = [edge.split("~")[0] for node in cell.split("+") for edge in node.strip("|").split("|")]
        widths = [channels, 2 * channels, 4 * channels]
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
        cells = []
        for s, width in enumerate(widths):
            if s > 0:
                cells.append(ReductionBlock(widths[s - 1], width))
            cells += [Cell(ops, width) for _ in range(cells_per_stage)]
        self.cells = nn.ModuleList(cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(widths[2]), nn.ReLU(inplace=True))
        self.classifier = nn.Linear(widths[2], num_classes)

    def forward(self, x):
        out = self.stem(x)
        for cell in self.cells:
            out = cell(out)
        out = F.adaptive_avg_pool2d(self.lastact(out), 1).flatten(1)
        return self.classifier(out)


class Student(NASBench201Network):
    """nb201-c4-n1-12153: NAS-Bench-201 cell |nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|."""

    def __init__(self):
        super().__init__(
            cell="|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
            channels=4,
            cells_per_stage=1,
            num_classes=10,
            in_channels=3,
        )
