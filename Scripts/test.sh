#!/usr/bin/env bash
# The test command: installs what is missing, builds, runs the whole default suite.
# Tests that need ../shared (real CIFAR-10 images, pretrained teachers) skip without it.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/bootstrap.sh
swift build --build-tests
# Every test is XCTest; without Swift Testing its empty "0 tests" summary would be the
# run's last line.
swift test --skip-build --disable-swift-testing
