#!/usr/bin/env python3
"""Writes a variant of a CIFAR-10 binary directory for training teachers of lesser
relevance (Scripts/make-teachers.sh): the training batches with some labels replaced by
uniformly random wrong classes (--noise q) and/or only the images of some classes kept
(--classes 0,1,2,3,4); test_batch.bin is copied unchanged. Each record is one label byte
and 3072 pixel bytes (the CIFAR-10 binary format).

Usage: make-teacher-data.py SRC OUT [--noise Q] [--classes C,C,...] [--seed N]
"""
import argparse
import os
import random
import shutil

RECORD = 1 + 3072


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("src")
    parser.add_argument("out")
    parser.add_argument("--noise", type=float, default=0.0)
    parser.add_argument("--classes", default="")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not 0 <= args.noise <= 1:
        parser.error("--noise must be in [0, 1]")
    keep = {int(c) for c in args.classes.split(",")} if args.classes else set(range(10))
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    kept = flipped = 0
    for name in sorted(os.listdir(args.src)):
        source = os.path.join(args.src, name)
        if name == "test_batch.bin":
            shutil.copyfile(source, os.path.join(args.out, name))
            continue
        if not name.startswith("data_batch_"):
            continue
        data = open(source, "rb").read()
        out = bytearray()
        for start in range(0, len(data) - RECORD + 1, RECORD):
            record = bytearray(data[start:start + RECORD])
            if record[0] not in keep:
                continue
            if rng.random() < args.noise:
                record[0] = rng.choice([c for c in range(10) if c != record[0]])
                flipped += 1
            out += record
            kept += 1
        with open(os.path.join(args.out, name), "wb") as f:
            f.write(out)
    print(f"{args.out}: {kept} training images, {flipped} labels changed")


if __name__ == "__main__":
    main()
