#!/usr/bin/env bash
# Knowledge distillation from an image folder, end to end (Docs/benchmarks.md):
#   1. RepDistiller's wrn_40_2 trained in PyTorch on the CIFAR-10 binaries
#      (Scripts/train-wrn40-2-pytorch.py), saved as safetensors with its normalisation;
#   2. the same CIFAR-10 images written as a JPEG folder (Scripts/make-image-folder.py,
#      32×32 as stored);
#   3. the teacher's accuracy on the folder's val/ JPEGs by `diswot eval` and by PyTorch;
#   4. `diswot train --data folder:…` of a wrn_16_2 student distilled from it (KD).
# Everything large goes to OUT_DIR (default: a new temporary directory), nothing into the
# repository. Needs PyTorch, safetensors and Pillow; not part of the test suite.
# Usage: Scripts/kd-from-folder.sh CIFAR_DIR [OUT_DIR] [EPOCHS] [TEACHER_MINUTES]
set -euo pipefail
cd "$(dirname "$0")/.."
cifar=${1:?usage: Scripts/kd-from-folder.sh CIFAR_DIR [OUT_DIR] [EPOCHS] [TEACHER_MINUTES]}
out=${2:-$(mktemp -d)}
epochs=${3:-3}
minutes=${4:-10}
mkdir -p "$out"
Scripts/bootstrap.sh
swift build -c release --product diswot >&2
diswot=.build/release/diswot
folder="$out/cifar10-jpeg"
[ -d "$folder/train" ] || python3 Scripts/make-image-folder.py "$cifar" "$folder" --count 100000 --size 32
teacher="$out/wrn40_2.safetensors"
if [ ! -f "$teacher" ]; then
  echo "== PyTorch: wrn_40_2 on $cifar ($minutes min at most)" >&2
  python3 Scripts/train-wrn40-2-pytorch.py "$cifar" "$teacher" --minutes "$minutes" --epochs 6 --folder "$folder" >&2
fi
echo "== diswot eval: the PyTorch teacher on $folder/val" >&2
"$diswot" eval --weights "$teacher" --model wrn_40_2 --data "folder:$folder" --image-size 32 --resize 32 --json
echo "== diswot train: wrn_16_2 from the folder, KD from wrn_40_2, $epochs epochs" >&2
"$diswot" train --data "folder:$folder" --student wrn_16_2 --teacher wrn_40_2 --teacher-weights "$teacher" \
  --image-size 32 --resize 32 --epochs "$epochs" --batch 64 --lr 0.05 --schedule cosine --seed 1 \
  --out "$out/kd-wrn16_2" --json
echo "== per-epoch metrics (images/s: training steps, loading overlapped)" >&2
cat "$out/kd-wrn16_2/metrics.jsonl"
