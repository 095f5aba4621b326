#!/usr/bin/env bash
# Trains ResNet-20 on the shared CIFAR-10 subset twice with the same seed and epochs:
# once distilled from the pretrained ResNet-56 (KD, γ 0.1, α 0.9, T 4), once alone.
# Results go to Docs/benchmarks.md by hand. Needs ../shared; not part of the test suite.
# Usage: Scripts/kd-vs-scratch.sh [EPOCHS] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-30}
out=${2:-$(mktemp -d)}
shared=../shared
[ -d "$shared/teachers" ] || { echo "kd-vs-scratch: needs ../shared (CIFAR-10 subset and teachers)" >&2; exit 2; }
Scripts/bootstrap.sh
swift build -c release --product diswot >&2
common=(--student resnet20 --data "cifar10:$shared/datasets/cifar10-subset" --epochs "$epochs" --batch 64
        --lr 0.05 --schedule cosine --seed 1 --json)
echo "== KD from resnet56 ($out/kd)" >&2
kd=$(.build/release/diswot train "${common[@]}" --teacher-weights "$shared/teachers/cifar10-resnet56.safetensors" \
  --distill kd --out "$out/kd")
echo "== no teacher ($out/scratch)" >&2
scratch=$(.build/release/diswot train "${common[@]}" --out "$out/scratch")
python3 - "$kd" "$scratch" <<'PY'
import json, sys
kd, scratch = (json.loads(a) for a in sys.argv[1:3])
print(f"KD from resnet56: {kd['test_accuracy']*100:.2f} % ({kd['test_correct']}/{kd['test_samples']})")
print(f"no teacher:       {scratch['test_accuracy']*100:.2f} % ({scratch['test_correct']}/{scratch['test_samples']})")
PY
