#!/usr/bin/env bash
# `diswot export` checked end to end with PyTorch (issue 12, item 2): for every family diswot
# builds, export a student, load its weights strictly into the generated `Student`, and
# compare PyTorch's logits with `diswot eval --logits` on the same CIFAR-10 images; the
# ResNet-20 teacher must score diswot's 776/846 in PyTorch too; and back: a state dict
# PyTorch saved from the generated module must evaluate in diswot as in PyTorch.
# The work is in Scripts/check-export.py; results go to Docs/benchmarks.md by hand.
# Needs python3 with torch and safetensors (never a dependency of diswot or its tests) and
# ../shared (or DISWOT_SHARED). Exit 0: every check passed; 1: a check failed; 2: cannot run.
# Usage: Scripts/check-export.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if ! "$python" -c 'import torch, safetensors' 2>/dev/null; then
  echo "check-export: PyTorch and safetensors are not importable by $python (pip install torch safetensors); nothing was checked" >&2
  exit 2
fi
shared=${DISWOT_SHARED:-../shared}
if [ ! -f "$shared/teachers/cifar10-resnet20.safetensors" ] || [ ! -f "$shared/datasets/cifar10-subset/test_batch.bin" ]; then
  echo "check-export: needs the shared CIFAR-10 subset and ResNet-20 teacher in $shared (set DISWOT_SHARED); nothing was checked" >&2
  exit 2
fi
Scripts/bootstrap.sh
swift build -c release --product diswot >&2
exec "$python" Scripts/check-export.py --diswot .build/release/diswot --shared "$shared"
