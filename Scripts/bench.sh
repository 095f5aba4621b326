#!/usr/bin/env bash
# Performance figures for Docs/benchmarks.md (not part of the test suite).
# Usage: Scripts/bench.sh [diswot-bench arguments]   (default: every benchmark)
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/bootstrap.sh
swift build -c release --product diswot-bench >&2
bench=.build/release/diswot-bench
if [ $# -gt 0 ]; then exec "$bench" "$@"; fi
echo "== engine: ResNet-56 forward, batch 64"
"$bench" engine
echo "== score: all resnet-cifar-depth candidates against ResNet-56, batch 64"
"$bench" score
echo "== train: ResNet-20 training steps, plain and KD from ResNet-56, batch 64"
"$bench" train
