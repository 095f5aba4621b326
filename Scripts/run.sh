#!/usr/bin/env bash
# The main job. Until the daemon lands this evaluates the pretrained CIFAR-10 teachers
# with the Swift engine: pass weights and data explicitly, or let it find ../shared.
# Usage: Scripts/run.sh [--weights F --data cifar10:DIR [--model NAME]]
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/bootstrap.sh
swift build -c release --product diswot >&2
diswot=.build/release/diswot
if [ $# -gt 0 ]; then exec "$diswot" eval "$@"; fi
shared=../shared
if [ ! -d "$shared/teachers" ]; then
  echo "run.sh: no ../shared here; give --weights FILE --data cifar10:DIR" >&2
  exit 2
fi
for depth in 20 32 44 56; do
  "$diswot" eval --model "resnet$depth" --weights "$shared/teachers/cifar10-resnet$depth.safetensors" \
    --data "cifar10:$shared/datasets/cifar10-subset"
done
