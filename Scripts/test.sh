#!/usr/bin/env bash
# The test command: installs what is missing, builds, runs the whole default suite.
# Tests that need ../shared (real CIFAR-10 images, pretrained teachers) skip without it.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/bootstrap.sh
swift build --build-tests
swift test --skip-build
