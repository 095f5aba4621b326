#!/usr/bin/env bash
# Performance figures for Docs/benchmarks.md (not part of the test suite).
# Usage: Scripts/bench.sh [diswot-bench arguments]   (default: every benchmark)
#   Scripts/bench.sh engine | score | broker | daemon-search [--help for options]
#   Scripts/bench.sh engine --model resnet18 --size 224 --batch 32 --threads 2   (torchvision's; PyTorch: python3 Scripts/bench-torch.py)
#   Scripts/bench.sh load --data folder:DIR      image-folder loading (e.g. DIR from Scripts/make-image-folder.py)
#   Scripts/bench.sh quality [options]          ranking quality of every proxy (Scripts/bench-quality.sh)
#   Scripts/bench.sh search-quality [options]   NAS-Bench-201 searches through diswotd (Scripts/bench-search.sh)
#   Scripts/bench.sh faults [options]           a search under kill -9 and a partition (Scripts/bench-faults.sh)
#   Scripts/bench.sh teachers [rank|mix|pseudo|all] [options]   teacher ranking, multi-teacher and pseudo-label KD (Scripts/bench-teachers.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  quality) shift; exec Scripts/bench-quality.sh "$@" ;;
  search-quality) shift; exec Scripts/bench-search.sh "$@" ;;
  faults) shift; exec Scripts/bench-faults.sh "$@" ;;
  teachers) shift; exec Scripts/bench-teachers.sh "$@" ;;
esac
Scripts/bootstrap.sh
# The service benchmarks run real diswotd and diswot-worker processes beside diswot-bench.
for product in diswot-bench diswotd diswot-worker; do swift build -c release --product "$product" >&2; done
bench=.build/release/diswot-bench
if [ $# -gt 0 ]; then exec "$bench" "$@"; fi
echo "== engine: ResNet-56 forward, batch 64"
"$bench" engine
echo "== engine: torchvision ResNet-18 and ResNet-50 forward at 224x224, batch 32, 2 threads (PyTorch: Scripts/bench-torch.py)"
"$bench" engine --model resnet18 --size 224 --batch 32 --threads 2
"$bench" engine --model resnet50 --size 224 --batch 32 --threads 2
echo "== score: all resnet-cifar-depth candidates against ResNet-56, batch 64"
"$bench" score
echo "== train: ResNet-20 training steps, plain and KD from ResNet-56, batch 64"
"$bench" train
echo "== broker: no-op tasks through diswotd, 2 workers"
"$bench" broker --tasks 50000 --workers 2
echo "== daemon search: resnet-cifar-depth against ResNet-56, 1 then 2 single-threaded workers"
"$bench" daemon-search --workers 1,2 --budget 64
echo "== daemon search with no-op workers: the daemon's engine + SQLite path"
"$bench" daemon-search --workers 2 --noop --space nas-bench-201 --budget 2000
