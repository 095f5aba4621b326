#!/usr/bin/env python3
"""Trains RepDistiller's wrn_40_2 in PyTorch on CIFAR-10 binaries and saves it as a
diswot teacher: the end-to-end KD benchmark of Docs/benchmarks.md starts from a teacher
that PyTorch, not diswot, trained.

    python3 Scripts/train-wrn40-2-pytorch.py CIFAR_DIR OUT.safetensors [--minutes M] [--epochs E] [--init FILE]

The network is written here from RepDistiller's models/wrn.py (HobbitLong/RepDistiller:
pre-activation wide blocks, `convShortcut` when widths differ, dropRate 0, the final
`bn1`/`fc`), so its state_dict has that project's names and diswot reads the architecture
off them. Training is RepDistiller's recipe shortened: SGD(lr 0.05, momentum 0.9,
weight decay 5e-4), batch 64, RandomCrop(32, padding=4) + RandomHorizontalFlip, the
learning rate cosine-annealed over the planned epochs; it stops after --epochs epochs or
once --minutes have passed (checked after each epoch); --init continues from an earlier
output (weights only: a new cosine schedule over the new --epochs). Normalisation is CIFAR-10's usual
mean/std, recorded in the file's metadata (`mean`, `std`) so diswot normalises alike.

Prints the PyTorch test accuracy on test_batch.bin (the 32x32 images as stored) and, with
--folder DIR, on DIR/val/<class>/*.jpg decoded by PIL (what `diswot eval --data folder:DIR
--image-size 32 --resize 32` reads), for the comparison in Docs/benchmarks.md.
Needs PyTorch, numpy and safetensors (and Pillow for --folder).
"""
import argparse
import glob
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

MEAN = [0.4914, 0.4822, 0.4465]
STD = [0.2470, 0.2435, 0.2616]
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


# RepDistiller's wrn.py, written once for the parity fixtures: the same module, so the
# teacher trained here has exactly the names and layers the fixtures check.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "DiswotModelsTests", "Fixtures", "repdistiller"))
from make_repdistiller import WideResNet  # noqa: E402


def repdistiller_init(model):
    """RepDistiller's initialisation of its wide ResNets (wrn.py), which the fixture
    generator does not need: it fills every tensor from a formula."""
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.normal_(m.weight, 0, math.sqrt(2.0 / (m.kernel_size[0] * m.kernel_size[1] * m.out_channels)))
        elif isinstance(m, torch.nn.BatchNorm2d):
            m.weight.data.fill_(1)
            m.bias.data.zero_()
        elif isinstance(m, torch.nn.Linear):
            m.bias.data.zero_()


def load_cifar(files):
    data = b"".join(open(f, "rb").read() for f in files)
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3073)
    images = torch.from_numpy(records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255)
    return images, torch.from_numpy(records[:, 0].astype(np.int64))


def normalize(images):
    return (images - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


def augment(images, generator):
    """RandomCrop(32, padding=4) + RandomHorizontalFlip on raw [0, 1] pixels."""
    padded = F.pad(images, (4, 4, 4, 4))
    out = torch.empty_like(images)
    offsets = torch.randint(0, 9, (len(images), 2), generator=generator)
    flips = torch.rand(len(images), generator=generator) < 0.5
    for i in range(len(images)):
        top, left = offsets[i].tolist()
        crop = padded[i, :, top:top + 32, left:left + 32]
        out[i] = crop.flip(2) if flips[i] else crop
    return out


def accuracy(model, images, labels):
    model.eval()
    correct = 0
    with torch.no_grad():
        for lo in range(0, len(images), 256):
            correct += (model(normalize(images[lo:lo + 256])).argmax(1) == labels[lo:lo + 256]).sum().item()
    return correct, len(images)


def folder_images(root):
    from PIL import Image
    images, labels = [], []
    for label, name in enumerate(sorted(os.listdir(root))):
        for path in sorted(glob.glob(os.path.join(root, name, "*.jpg"))):
            pixels = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255
            images.append(torch.from_numpy(pixels).permute(2, 0, 1))
            labels.append(label)
    return torch.stack(images), torch.tensor(labels)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cifar")
    p.add_argument("out")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--folder", help="also report accuracy on FOLDER/val (PIL-decoded JPEGs)")
    p.add_argument("--init", help="start from this file's weights (a previous run's output) instead of RepDistiller's init")
    a = p.parse_args()
    torch.manual_seed(a.seed)
    generator = torch.Generator().manual_seed(a.seed)
    train_x, train_y = load_cifar(sorted(glob.glob(os.path.join(a.cifar, "data_batch_*.bin"))))
    test_x, test_y = load_cifar([os.path.join(a.cifar, "test_batch.bin")])
    model = WideResNet(40, 2)
    repdistiller_init(model)
    previous = 0
    if a.init:
        from safetensors import safe_open
        with safe_open(a.init, "pt") as f:
            model.load_state_dict({k: f.get_tensor(k) for k in f.keys()})
            previous = int(f.metadata().get("epochs", 0))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    steps = a.epochs * math.ceil(len(train_x) / 64)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    start = time.time()
    for epoch in range(a.epochs):
        model.train()
        order = torch.randperm(len(train_x), generator=generator)
        for lo in range(0, len(order), 64):
            batch = order[lo:lo + 64]
            loss = F.cross_entropy(model(normalize(augment(train_x[batch], generator))), train_y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        correct, total = accuracy(model, test_x, test_y)
        print(f"epoch {epoch + 1}: loss {loss.item():.3f}, test {correct}/{total} = {100 * correct / total:.2f} %, "
              f"{time.time() - start:.0f} s", flush=True)
        if time.time() - start > a.minutes * 60:
            break
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, a.out, metadata={
        "mean": ",".join(map(str, MEAN)), "std": ",".join(map(str, STD)), "arch": "wrn_40_2",
        "dataset": "cifar10", "trained_by": "Scripts/train-wrn40-2-pytorch.py", "epochs": str(previous + epoch + 1)})
    print(f"saved {a.out}: PyTorch test accuracy {100 * correct / total:.2f} % ({correct}/{total}) on {a.cifar}")
    if a.folder:
        x, y = folder_images(os.path.join(a.folder, "val"))
        correct, total = accuracy(model, x, y)
        print(f"PyTorch on {a.folder}/val: {correct}/{total} = {100 * correct / total:.2f} %")


if __name__ == "__main__":
    main()
