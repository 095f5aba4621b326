#!/usr/bin/env bash
# Installs the Debian packages diswot builds against, only when one is missing.
# Idempotent and silent when everything is already there; needs root (or sudo) otherwise.
set -euo pipefail

# iproute2 and nftables: the network-partition test puts a worker in its own namespace
# (ip) behind a lossy link (nft).
# libjpeg62-turbo-dev and libpng-dev: JPEG and PNG images of folder:DIR datasets.
packages=(libopenblas-dev libzmq3-dev libsqlite3-dev libjpeg62-turbo-dev libpng-dev pkg-config iproute2 nftables)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "bootstrap: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
