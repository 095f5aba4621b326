#!/usr/bin/env bash
# Search quality through the service: NAS-Bench-201 searches with the default score
# (ensemble) against the pretrained ResNet-56 teacher on the shared CIFAR-10 images, run by
# diswotd with two local single-threaded workers, one search per seed; each search's best
# architecture is looked up in the NAS-Bench-201 CIFAR-10 table. Needs ../shared.
#
# Usage: Scripts/bench-search.sh [--seeds "0 1 … 9"] [--budget 1000] [--proxy ensemble] [--repeats R]
# Prints one line per seed (best key, its test accuracy, evaluations, seconds) and the median.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds="0 1 2 3 4 5 6 7 8 9" budget=1000 proxy=ensemble repeats=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) seeds="$2"; shift 2 ;;
    --budget) budget="$2"; shift 2 ;;
    --proxy) proxy="$2"; shift 2 ;;
    --repeats) repeats=(--repeats "$2"); shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "bench-search.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
shared=$(realpath ../shared 2>/dev/null || true)
table="$shared/benchmarks/nas-bench-201/cifar10.csv"
[ -f "$table" ] || { echo "bench-search.sh: needs ../shared (NAS-Bench-201 table, CIFAR-10 images, teachers)" >&2; exit 2; }
Scripts/bootstrap.sh
for product in diswot diswotd diswot-worker; do swift build -c release --product "$product" >&2; done
bin=.build/release

state=$(mktemp -d)
"$bin/diswotd" --state-dir "$state/state" --data-root / --local-workers 2 --worker-threads 1 \
  --client 'tcp://127.0.0.1:*' --workers 'tcp://127.0.0.1:*' --events 'tcp://127.0.0.1:*' \
  --ready-file "$state/ready.json" 2> "$state/diswotd.log" &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon 2>/dev/null || true; rm -rf "$state"' EXIT
for _ in $(seq 1 150); do
  [ -s "$state/ready.json" ] && break
  sleep 0.1
done
client=$(grep -o '"client":"[^"]*"' "$state/ready.json" | cut -d'"' -f4)

printf "%-5s %-100s %8s %6s %8s\n" seed best accuracy evals seconds
accuracies=()
for seed in $seeds; do
  start=$SECONDS
  "$bin/diswot" search start --daemon "$client" --space nas-bench-201 --budget "$budget" --proxy "$proxy" ${repeats[@]+"${repeats[@]}"} \
    --population 20 --tournament 5 --seed "$seed" --teacher-weights "$shared/teachers/cifar10-resnet56.safetensors" \
    --data "cifar10:$shared/datasets/cifar10-subset" --wait --json --quiet > "$state/search-$seed.json"
  seconds=$((SECONDS - start))
  key=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['best'][0]['key'])" "$state/search-$seed.json")
  evals=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['evaluations'])" "$state/search-$seed.json")
  accuracy=$(awk -F, -v k="$key" '$1 == k { print $3 }' "$table")
  accuracies+=("$accuracy")
  printf "%-5s %-100s %8s %6s %8s\n" "$seed" "$key" "$accuracy" "$evals" "$seconds"
done
printf "%s\n" "${accuracies[@]}" | sort -n | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "median best accuracy over %d seeds: %.2f %% (optimum 94.37 %%)\n", NR, m }'
