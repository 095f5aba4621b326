"""Writes torchvision-resnets.safetensors: torchvision's own resnet18 and resnet50 outputs,
the oracle for TorchvisionResNetTests.

Full-width networks hold 47 MB (resnet18) and 102 MB (resnet50) of weights, too much for
the repository, so the weights are not stored: every state tensor is filled from a
formula both sides compute exactly (below), and only inputs' results are saved. The
test fills its own network from the same formula, in the same state_dict order, and
must reproduce these logits (inference and training-mode batch norm) and a training
step's gradients.

Formula: the k-th state tensor (state_dict order, num_batches_tracked left at 0) takes,
at flat index i, s = 2u - 1 with u = (splitmix64((k << 32) + i) >> 40) / 2^24 (exact in
float32), then, computed in float64 and rounded once to float32:
  convolution / linear weight: s * sqrt(6 / fan_in)    linear bias: s * 0.1
  batch-norm weight: 0.5 + 0.25 s    bias: 0.1 s    running_mean: 0.1 s    running_var: 1 + 0.5 s
The input batch is tensor k = K (s itself), labels i % classes, where K is the first of
1000, 1001, ... for which, in float64 and training mode, every ReLU's input is at least
MARGIN away from 0: a unit within float32 rounding of a kink would route its gradient
one way here and the other way in the test, and batch norm would spread that through
every gradient upstream. The test reads K from the metadata (`NAME.input_tensor`).

Usage: PYTHONPATH=<dir with torchvision> python3 make_torchvision_resnets.py [OUT]
(needs torch, torchvision and safetensors; torchvision only for this script:
`pip install --no-deps --target DIR torchvision pillow`)
"""
import copy
import sys

import numpy as np
import torch
import torchvision
from safetensors.torch import save_file

MASK = (1 << 64) - 1
# name, constructor, classes, batch, image side
MODELS = [("resnet18", torchvision.models.resnet18, 7, 2, 40),
          ("resnet50", torchvision.models.resnet50, 5, 4, 48)]
MARGIN = 1e-5
GRADIENTS = {
    "resnet18": ["conv1.weight", "bn1.weight", "layer2.0.downsample.0.weight", "layer4.1.bn2.weight", "fc.weight", "fc.bias"],
    # None: the first input (K = 1000), logits only. ResNet-50 has too many ReLUs for a
    # search over inputs to find one without a unit near its kink in reasonable time (its
    # float32 and float64 gradients differ by 4% on K = 1000 in PyTorch itself); its
    # backward pass is checked by finite differences (NetworkGradientTests).
    "resnet50": None,
}


def signed_uniform(k, count):
    """s in [-1, 1) for tensor k, flat indices 0..count-1 (splitmix64, as the test)."""
    z = np.arange(count, dtype=np.uint64) + np.uint64((k << 32) & MASK)
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(40)).astype(np.float64) / float(1 << 24)
    return 2 * u - 1


def value(name, tensor, k):
    s = signed_uniform(k, tensor.numel())
    if name.endswith("running_mean"):
        v = 0.1 * s
    elif name.endswith("running_var"):
        v = 1 + 0.5 * s
    elif tensor.dim() == 1 and name.endswith("weight"):  # batch norm
        v = 0.5 + 0.25 * s
    elif tensor.dim() == 1:  # batch-norm or linear bias
        v = 0.1 * s
    else:
        fan_in = tensor[0].numel()
        v = s * np.sqrt(6.0 / fan_in)
    return torch.from_numpy(v.astype(np.float32)).reshape(tensor.shape)


def input_tensor(net, batch, side):
    """The first input tensor index whose training-mode pass keeps every ReLU input
    MARGIN away from its kink (float64)."""
    net = copy.deepcopy(net).double().train()
    margins = []
    for m in net.modules():
        if isinstance(m, torch.nn.ReLU):
            m.register_forward_pre_hook(lambda _, i: margins.append(float(i[0].abs().min())))
    for k in range(1000, 1400):
        margins.clear()
        with torch.no_grad():
            net(torch.from_numpy(signed_uniform(k, batch * 3 * side * side)).reshape(batch, 3, side, side))
        if min(margins) >= MARGIN:
            print(f"input tensor {k}: smallest ReLU margin {min(margins):.2e}")
            return k
    raise SystemExit("no input keeps every ReLU MARGIN from its kink")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "torchvision-resnets.safetensors"
    tensors, metadata = {}, {"torchvision": torchvision.__version__, "torch": torch.__version__}
    for name, make, classes, batch, side in MODELS:
        net = make(num_classes=classes)
        state = net.state_dict()
        metadata[name + ".state_dict"] = ";".join(f"{n}:{'x'.join(map(str, t.shape))}" for n, t in state.items())
        with torch.no_grad():
            for k, (n, t) in enumerate(state.items()):
                if not n.endswith("num_batches_tracked"):
                    t.copy_(value(n, t, k))
        k = input_tensor(net, batch, side) if GRADIENTS[name] else 1000
        metadata[name + ".input_tensor"] = str(k)
        x = torch.from_numpy(signed_uniform(k, batch * 3 * side * side).astype(np.float32)).reshape(batch, 3, side, side)
        labels = torch.arange(batch) % classes
        net.eval()
        with torch.no_grad():
            tensors[name + ".logits"] = net(x)
        net.train()
        logits = net(x)
        tensors[name + ".train_logits"] = logits.detach()
        if GRADIENTS[name]:
            torch.nn.functional.cross_entropy(logits, labels).backward()
            params = dict(net.named_parameters())
            for p in GRADIENTS[name]:
                tensors[name + ".grad." + p] = params[p].grad
        print(name, "logits", tensors[name + ".logits"][0].tolist())
    save_file({k: v.contiguous() for k, v in tensors.items()}, out, metadata=metadata)


if __name__ == "__main__":
    main()
