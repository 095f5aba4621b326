#!/usr/bin/env bash
# The main job, end to end through the service: build, start diswotd with two local
# workers on loopback (free ports, a fresh state directory), search resnet-cifar-depth for
# the best student of a ResNet-56 teacher (24 evaluations), print the best students, hand
# the best one to a short knowledge-distillation training job, print its result, and shut
# the daemon down cleanly (SIGTERM).
#
# Data: with ../shared present (or --data / --teacher-weights given) the search probes with
# real CIFAR-10 images against the pretrained ResNet-56, and the hand-off trains on that
# data. Without any dataset the search uses the built-in defaults (a randomly initialised
# ResNet-56 teacher, a Gaussian probe batch: nothing to download) and the training step is
# skipped with instructions: training needs real labelled images, and this project ships
# none (it reads CIFAR-10/100 and MNIST directories you provide).
#
# Usage: Scripts/run.sh [--data cifar10:DIR] [--teacher-weights FILE] [--budget N] [--epochs N]
#                       [--train-limit N] [--reference-size N] [--probe-batch N] [--bin DIR]
# --reference-size and --probe-batch shrink the scoring set-up, and --bin DIR runs the
# executables in DIR instead of building release ones: for the test that runs this script
# on a debug build (QuickStartTests).
set -euo pipefail
cd "$(dirname "$0")/.."

data="" weights="" budget=24 epochs=2 train_limit=2000 reference_size="" probe_batch="" bin=""
while [ $# -gt 0 ]; do
  case "$1" in
    --data) data="$2"; shift 2 ;;
    --teacher-weights) weights="$2"; shift 2 ;;
    --budget) budget="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --train-limit) train_limit="$2"; shift 2 ;;
    --reference-size) reference_size="$2"; shift 2 ;;
    --probe-batch) probe_batch="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
shared=../shared
if [ -z "$data" ] && [ -z "$weights" ] && [ -d "$shared/datasets/cifar10-subset" ] && [ -f "$shared/teachers/cifar10-resnet56.safetensors" ]; then
  data="cifar10:$shared/datasets/cifar10-subset"
  weights="$shared/teachers/cifar10-resnet56.safetensors"
fi

Scripts/bootstrap.sh
if [ -z "$bin" ]; then
  swift build -c release >&2
  bin=.build/release
fi
bin=$(realpath "$bin")  # absolute, so the commands printed below work from anywhere

# Paths in requests must lie inside the daemon's --data-root: the closest directory
# holding this checkout and every path given.
common_root() {
  local root="$1" p
  shift
  for p in "$@"; do
    while [ "$root" != "/" ] && [ "${p#"$root"/}" = "$p" ] && [ "$p" != "$root" ]; do root=$(dirname "$root"); done
  done
  echo "$root"
}
paths=("$(pwd)")
[ -n "$data" ] && [ "$data" != gaussian ] && paths+=("$(realpath "${data#*:}")")
[ -n "$weights" ] && paths+=("$(realpath "$weights")")
data_root=$(common_root "${paths[@]}")

state=$(mktemp -d)
"$bin/diswotd" --state-dir "$state/state" --data-root "$data_root" --local-workers 2 \
  --client 'tcp://127.0.0.1:*' --workers 'tcp://127.0.0.1:*' --events 'tcp://127.0.0.1:*' \
  --ready-file "$state/ready.json" 2> "$state/diswotd.log" &
daemon=$!
stop_daemon() {
  if kill -0 "$daemon" 2>/dev/null; then
    kill -TERM "$daemon"
    wait "$daemon" || true
  fi
}
finish() {
  local status=$?
  stop_daemon
  if [ $status -eq 0 ]; then
    echo "run.sh: the daemon's state, log and any trained student are in $state" >&2
  else
    echo "run.sh: failed; the daemon's log is $state/diswotd.log" >&2
  fi
}
trap finish EXIT
for _ in $(seq 1 150); do
  [ -s "$state/ready.json" ] && break
  kill -0 "$daemon" 2>/dev/null || { cat "$state/diswotd.log" >&2; exit 1; }
  sleep 0.1
done
client=$(grep -o '"client":"[^"]*"' "$state/ready.json" | cut -d'"' -f4)
echo "diswotd running (pid $daemon, $client, state $state/state)" >&2

search_args=(--daemon "$client" --space resnet-cifar-depth --budget "$budget")
if [ -n "$data" ]; then search_args+=(--data "$data"); fi
# The teacher's architecture is read off its weights; without weights, a random-init ResNet-56.
if [ -n "$weights" ]; then search_args+=(--teacher-weights "$weights"); else search_args+=(--teacher resnet56); fi
if [ -n "$reference_size" ]; then search_args+=(--reference-size "$reference_size"); fi
if [ -n "$probe_batch" ]; then search_args+=(--batch "$probe_batch"); fi
echo "== search: diswot search start ${search_args[*]:2} --wait" >&2
"$bin/diswot" search start "${search_args[@]}" --wait | tee "$state/search.txt"
id=$(sed -n 's/^Search \(s-[0-9a-z]*\),.*/\1/p' "$state/search.txt")

if [ -z "$data" ] || [ "$data" = gaussian ]; then
  cat <<EOF

The best student is found; training it needs labelled images, and none were given (no
../shared, no --data). Either run the whole job again with a CIFAR-10 directory
(cifar-10-batches-bin) and a teacher trained on it:
  Scripts/run.sh --data cifar10:DIR --teacher-weights teacher.safetensors
or train the student this search found, on the state the daemon left (without a teacher:
this search measured students against a randomly initialised one):
  $bin/diswotd --state-dir $state/state --data-root DIR --local-workers 2 &
  $bin/diswot train start --search $id --data cifar10:DIR --epochs 240 --wait
  kill %1
EOF
  exit 0
fi

train_args=(--daemon "$client" --search "$id" --data "$data" --epochs "$epochs" --batch 64 --lr 0.05 --schedule cosine
  --train-limit "$train_limit")
if [ -n "$weights" ]; then train_args+=(--teacher-weights "$weights"); fi
echo >&2
echo "== training the best student: diswot train start ${train_args[*]:2} --wait" >&2
"$bin/diswot" train start "${train_args[@]}" --wait
