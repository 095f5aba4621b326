#!/usr/bin/env python3
"""Writes a folder of JPEGs in torchvision's ImageFolder layout from CIFAR-10 binaries,
for trying `--data folder:DIR` and measuring image loading (Docs/benchmarks.md).

    python3 Scripts/make-image-folder.py CIFAR_DIR OUT [--count N] [--size S]

OUT/train/<class>/<i>.jpg from data_batch_*.bin and OUT/val/<class>/<i>.jpg from
test_batch.bin, the first N images of each (default 300), upscaled to S×S with PIL's
bilinear filter (default 256; 32 keeps them as they are). Needs Pillow.
"""
import argparse, os
from PIL import Image

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def records(path):
    data = open(path, "rb").read()
    for i in range(len(data) // 3073):
        r = data[i * 3073 : (i + 1) * 3073]
        yield r[0], Image.frombytes("RGB", (32, 32), bytes(b for px in zip(r[1:1025], r[1025:2049], r[2049:]) for b in px))


def write(files, out, count, size):
    n = 0
    for f in files:
        if not os.path.exists(f):
            continue
        for label, image in records(f):
            if n == count:
                return
            folder = os.path.join(out, CLASSES[label])
            os.makedirs(folder, exist_ok=True)
            if size != 32:
                image = image.resize((size, size), Image.BILINEAR)
            image.save(os.path.join(folder, f"{n:06d}.jpg"), quality=90)
            n += 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cifar")
    p.add_argument("out")
    p.add_argument("--count", type=int, default=300)
    p.add_argument("--size", type=int, default=256)
    a = p.parse_args()
    write([os.path.join(a.cifar, f"data_batch_{i}.bin") for i in range(1, 6)], os.path.join(a.out, "train"), a.count, a.size)
    write([os.path.join(a.cifar, "test_batch.bin")], os.path.join(a.out, "val"), a.count, a.size)


if __name__ == "__main__":
    main()
