#!/usr/bin/env bash
# The test command: installs what is missing, builds, runs the whole default suite.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/bootstrap.sh
swift build --build-tests
swift test --skip-build --parallel --num-workers 1
