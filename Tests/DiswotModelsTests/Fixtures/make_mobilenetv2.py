"""Writes mobilenetv2.safetensors: a small MobileNetV2's PyTorch outputs, the oracle for
MobileNetV2Tests.testMatchesPyTorchReference.

The network is written here from the paper (Sandler et al., CVPR 2018: a 3×3 stem,
inverted residual blocks — 1×1 expansion, k×k depthwise, linear 1×1 projection, the
input added when stride is 1 and widths agree — a 1×1 head, global average pooling, a
linear classifier; batch norm after every convolution, ReLU6 after all but the
projection) with the state_dict names of torchvision's mobilenet_v2 (`features.i`,
`conv` sequentials, `classifier.1`). The fixture's layout, stride-1 stem and 5×5/7×7
depthwise kernels exercise what the CIFAR search space varies. Random weights and
batch-norm statistics; inputs 3·N(0, 1) so that some ReLU6 outputs clip at 6; outputs
in inference mode and in training mode (batch statistics).

Usage: python3 make_mobilenetv2.py [OUT]   (needs torch and safetensors)
"""
import sys

import torch
from safetensors.torch import save_file
from torch import nn

# (expansion, kernel) per block, output width and first block's stride per stage.
STAGES = [([(1, 3)], 8, 1), ([(6, 5), (6, 7)], 16, 2), ([(3, 3)], 24, 2)]
LAYOUT = "8s1:e1k3_16s2:e6k5,e6k7_24s2:e3k3"
STEM_WIDTH, STEM_STRIDE, LAST_WIDTH, CLASSES = 8, 1, 64, 10


def conv_bn_relu6(c_in, c_out, kernel, stride=1, groups=1):
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, c_in, c_out, stride, expansion, kernel):
        super().__init__()
        hidden = c_in * expansion
        layers = [] if expansion == 1 else [conv_bn_relu6(c_in, hidden, 1)]
        layers += [conv_bn_relu6(hidden, hidden, kernel, stride, groups=hidden),
                   nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


class Network(nn.Module):
    def __init__(self):
        super().__init__()
        features = [conv_bn_relu6(3, STEM_WIDTH, 3, STEM_STRIDE)]
        width = STEM_WIDTH
        for blocks, out, stride in STAGES:
            for i, (expansion, kernel) in enumerate(blocks):
                features.append(InvertedResidual(width, out, stride if i == 0 else 1, expansion, kernel))
                width = out
        features.append(conv_bn_relu6(width, LAST_WIDTH, 1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(LAST_WIDTH, CLASSES))

    def forward(self, x):
        features = self.features(x)
        return features, self.classifier(features.mean(dim=(2, 3)))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "mobilenetv2.safetensors"
    torch.manual_seed(0)
    net = Network()
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 1.5)
    x = 3 * torch.randn(2, 3, 16, 16)
    net.eval()
    with torch.no_grad():
        features, logits = net(x)
    tensors = {k: v.clone() for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    # Training mode with dropout off: the engine's training-mode forward has no dropout.
    net.train()
    net.classifier[0].eval()
    with torch.no_grad():
        _, training = net(x)
    tensors.update({
        "fixture.input": x, "fixture.features.inference": features,
        "fixture.logits.inference": logits, "fixture.logits.training": training})
    save_file({k: v.contiguous() for k, v in tensors.items()}, out, metadata={"stages": LAYOUT})


if __name__ == "__main__":
    main()
