#!/usr/bin/env bash
# Trains CIFAR-10 teachers of deliberately varied relevance on the shared CIFAR-10 subset
# with `diswot train`, for the teacher-ranking benchmark (Scripts/bench.sh teachers): the
# shared ResNets are all strong on the same task, so these spread the field — fewer
# images, noisy labels, half the classes, a small network. Needs ../shared.
# Usage: Scripts/make-teachers.sh [EPOCHS] [OUT_DIR]   (default 15 epochs, teachers/ here)
#   DISWOT=path/to/diswot uses that build instead of building the release one.
# Writes OUT_DIR/<name>.safetensors for: full (ResNet-20, every image), few (ResNet-20,
# 600 images), noisy40 and noisy80 (ResNet-20, 40 % / 80 % of the labels replaced by a
# random wrong class), half (ResNet-20, only classes 0-4), small (ResNet-8, 300 images),
# split (ResNet-20, the first 2,330 images: half of them; the pseudo-label benchmark's second
# labeller, `PSEUDO_TEACHER=OUT_DIR/split.safetensors Scripts/bench.sh teachers pseudo`),
# full2 (full's recipe with seed 2: a near-twin, for a mix of comparably good teachers).
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-15}
out=${2:-teachers}
shared=${SHARED:-../shared}
data="$shared/datasets/cifar10-subset"
[ -d "$data" ] || { echo "make-teachers: needs $data (the shared CIFAR-10 subset)" >&2; exit 2; }
if [ -z "${DISWOT:-}" ]; then
  Scripts/bootstrap.sh
  swift build -c release --product diswot >&2
  DISWOT=.build/release/diswot
fi
mkdir -p "$out/data"
python3 Scripts/make-teacher-data.py "$data" "$out/data/noisy40" --noise 0.4 --seed 1 >&2
python3 Scripts/make-teacher-data.py "$data" "$out/data/noisy80" --noise 0.8 --seed 2 >&2
python3 Scripts/make-teacher-data.py "$data" "$out/data/half" --classes 0,1,2,3,4 >&2
common=(--epochs "$epochs" --batch 64 --lr 0.05 --schedule cosine --seed 1 --json -q)
train() {  # name student data [options…]
  local name=$1 student=$2 source=$3
  shift 3
  if [ -f "$out/$name.safetensors" ]; then echo "make-teachers: $out/$name.safetensors exists, kept" >&2; return; fi
  rm -rf "$out/runs/$name"
  echo "== $name: $student on $source $*" >&2
  "$DISWOT" train --student "$student" --data "cifar10:$source" "${common[@]}" "$@" --out "$out/runs/$name" >"$out/runs-$name.json"
  cp "$out/runs/$name/student.safetensors" "$out/$name.safetensors"
}
train full resnet20 "$data"
train few resnet20 "$data" --train-limit 600
train noisy40 resnet20 "$out/data/noisy40"
train noisy80 resnet20 "$out/data/noisy80"
train half resnet20 "$out/data/half"
train small resnet8 "$data" --train-limit 300
train split resnet20 "$data" --train-limit 2330
train full2 resnet20 "$data" --seed 2   # the last --seed given wins
ls "$out"/*.safetensors
