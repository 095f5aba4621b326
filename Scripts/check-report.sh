#!/usr/bin/env bash
# The report pages checked in a real browser (issue 15): renders each page kind in headless
# Chromium — a 1,000-candidate NAS-Bench-201 search (`search --local`), the ranking quality
# of three proxies against NAS-Bench-201's CIFAR-10 accuracies, a short training run, and
# diswotd's live pages over `--http` — checks the DOM Chromium built (the Pareto front's
# points, the marked student, the axis labels, τ and ρ as `diswot rank` computes them),
# that the browser logged no console error, refused nothing and fetched nothing, and saves
# screenshots under Docs/img/. Prints each search page's size and time to open.
# The work is in Scripts/check-report.py.
#
# Usage: Scripts/check-report.sh [--install] [--budget N] [--bin DIR] [--screenshots DIR]
#   --install      install Debian's chromium package (apt) when it is missing
#   --budget N     candidates of the search page (1000)
#   --bin DIR      the diswot executables to use (default: build debug ones with swift build)
#   --screenshots DIR  where the PNGs go (Docs/img; "" for none)
# Needs ../shared (or DISWOT_SHARED) for the ground truth and the CIFAR-10 images.
# Exit 0: every check passed; 1: a check failed; 2: cannot run (no chromium, no ../shared).
set -euo pipefail
cd "$(dirname "$0")/.."
install=0 budget=1000 bin="" screenshots=Docs/img
while [ $# -gt 0 ]; do
  case "$1" in
    --install) install=1 ;;
    --budget) budget=$2; shift ;;
    --bin) bin=$2; shift ;;
    --screenshots) screenshots=$2; shift ;;
    *) echo "check-report: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if ! command -v chromium >/dev/null; then
  if [ $install -eq 1 ]; then
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "check-report: installing chromium (Debian)" >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
  else
    echo "check-report: chromium is not installed (Scripts/check-report.sh --install installs Debian's package); nothing was checked" >&2
    exit 2
  fi
fi
shared=${DISWOT_SHARED:-../shared}
if [ ! -f "$shared/benchmarks/nas-bench-201/cifar10.csv" ] || [ ! -f "$shared/datasets/cifar10-subset/test_batch.bin" ]; then
  echo "check-report: needs the NAS-Bench-201 ground truth and the CIFAR-10 subset in $shared (set DISWOT_SHARED); nothing was checked" >&2
  exit 2
fi
if [ -z "$bin" ]; then
  Scripts/bootstrap.sh
  swift build --product diswot >&2
  swift build --product diswotd >&2
  swift build --product diswot-worker >&2
  bin=.build/debug
fi
exec python3 Scripts/check-report.py --bin "$bin" --shared "$shared" --budget "$budget" --screenshots "$screenshots"
