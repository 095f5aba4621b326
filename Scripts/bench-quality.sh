#!/usr/bin/env bash
# Ranking quality of the training-free proxies (the tables in Docs/benchmarks.md), with
# `diswot quality`. Needs ../shared (NAS-Bench-201 CIFAR-10 table, CIFAR-10 images, the
# pretrained ResNet-56). Long: about 25 minutes per 1,000 candidates and probe seed with every
# proxy on 2 cores; results go to standard output and, as JSON, to --out (default /tmp).
#
# Usage: Scripts/bench-quality.sh [--sample 1000] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
sample=1000 out=/tmp/diswot-quality
while [ $# -gt 0 ]; do
  case "$1" in
    --sample) sample="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "bench-quality.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
shared=$(realpath ../shared 2>/dev/null || true)
[ -f "$shared/benchmarks/nas-bench-201/cifar10.csv" ] || { echo "bench-quality.sh: needs ../shared" >&2; exit 2; }
Scripts/bootstrap.sh
swift build -c release --product diswot >&2
mkdir -p "$out"
diswot=.build/release/diswot
real=(--teacher-weights "$shared/teachers/cifar10-resnet56.safetensors" --data "cifar10:$shared/datasets/cifar10-subset")

# With the ensemble among the proxies every proxy would average two initialisations (the
# default's); the per-proxy table is of one initialisation, as each proxy was published.
echo "== NAS-Bench-201, $sample architectures, probe seeds 0,1,2, every proxy, one initialisation (ResNet-56 teacher, CIFAR-10 probes)"
"$diswot" quality --space nas-bench-201 --truth "$shared/benchmarks/nas-bench-201/cifar10.csv" --sample "$sample" \
  --probe-seeds 0,1,2 --repeats 1 "${real[@]}" --jsonl "$out/nb201.jsonl"
echo "== NAS-Bench-201, the default score (the ensemble, two initialisations)"
"$diswot" quality --space nas-bench-201 --truth "$shared/benchmarks/nas-bench-201/cifar10.csv" --sample "$sample" \
  --probe-seeds 0,1,2 --proxies ensemble "${real[@]}" --jsonl "$out/nb201-default.jsonl"
echo "== NAS-Bench-201, the faithful DisWOT score averaged over 5 initialisations"
"$diswot" quality --space nas-bench-201 --truth "$shared/benchmarks/nas-bench-201/cifar10.csv" --sample "$sample" \
  --probe-seeds 0,1,2 --proxies diswot --repeats 5 "${real[@]}"
for probe in gaussian real; do
  extra=()
  [ "$probe" = real ] && extra=("${real[@]}")
  echo "== resnet-cifar-depth (S1, all 64), stability across probe seeds 0,1,2, $probe probes"
  "$diswot" quality --space resnet-cifar-depth --sample 64 --probe-seeds 0,1,2 --proxies ensemble "${extra[@]}"
  "$diswot" quality --space resnet-cifar-depth --sample 64 --probe-seeds 0,1,2 \
    --proxies diswot,relation,nwot,jacob_cov,log_synflow,params "${extra[@]}"
done
for averaging in "--repeats 1" "--probes 2"; do
  echo "== resnet-cifar-depth, CIFAR-10 probes, the ensemble with $averaging"
  # shellcheck disable=SC2086
  "$diswot" quality --space resnet-cifar-depth --sample 64 --probe-seeds 0,1,2 --proxies ensemble $averaging "${real[@]}"
done
