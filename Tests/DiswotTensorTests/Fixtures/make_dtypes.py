#!/usr/bin/env python3
"""Writes dtypes.safetensors beside this script with the reference implementation
(`safetensors.torch.save_file`, PyTorch 2.x): two tensors of every dtype diswot reads,
holding edge values each dtype stores exactly and `Float` holds exactly too, so that
reading the file and writing it back must reproduce its bytes (SafetensorsTests). The
names are chosen so that the reference's layout (dtype order first, then name) differs
from plain name order. One metadata entry: the reference writes metadata in hash-map
order, so a single key is the most a byte-for-byte comparison can hold.

Run from anywhere: python3 make_dtypes.py
"""
import os

import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))

VALUES = {
    torch.bool: [True, False, True],
    torch.uint8: [0, 255, 7],
    torch.int8: [-128, 127, 0],
    torch.int16: [-32768, 32767, -1],
    torch.uint16: [0, 65535, 4096],
    torch.int32: [-2**31, 2**31 - 128, 16777216],
    torch.uint32: [0, 2**32 - 256, 3],
    torch.int64: [-2**40, 2**62, 0],
    torch.uint64: [0, 2**63, 12345],
    torch.float16: [0.1, -65504.0, 6e-8],
    torch.bfloat16: [0.1, -3.0e38, 1e-39],
    torch.float32: [0.1, -1e-45, float("inf")],
    torch.float64: [0.1, -2.0**-149, 1e38],
}

NAMES = {
    torch.bool: "a.mask", torch.uint8: "b.pixels", torch.int8: "c.quantised", torch.int16: "d.short",
    torch.uint16: "e.ushort", torch.float16: "f.half", torch.bfloat16: "g.brain", torch.int32: "h.int",
    torch.uint32: "i.uint", torch.float32: "j.weight", torch.float64: "k.double",
    torch.int64: "l.num_batches_tracked", torch.uint64: "m.ulong",
}


def main():
    tensors = {}
    for dtype, values in VALUES.items():
        if dtype in (torch.float16, torch.bfloat16, torch.float64):
            # Round in float32 first, as diswot holds every value as a Float.
            base = torch.tensor(values, dtype=torch.float32).to(dtype)
        else:
            base = torch.tensor(values, dtype=dtype)
        tensors[NAMES[dtype]] = base
        tensors[NAMES[dtype] + ".scalar"] = base[1].clone()
    save_file(tensors, os.path.join(HERE, "dtypes.safetensors"), metadata={"format": "pt"})


if __name__ == "__main__":
    main()
