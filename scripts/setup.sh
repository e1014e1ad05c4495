#!/usr/bin/env bash
# Installs what the build, the page and the tests need and is missing, from the package
# registries only (crates.io, npm, Debian): rustfmt and clippy, the wasm32 target, trunk 0.21.14,
# wasm-bindgen-cli at the version in Cargo.lock, Debian's Chromium, and the end-to-end test
# dependencies. Idempotent, and quick when everything is there.
#   scripts/setup.sh          everything
#   scripts/setup.sh serve    only what serving the page needs (no Chromium, no npm packages)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"

have_component() { rustup component list --installed 2>/dev/null | grep -q "^$1"; }
for c in rustfmt clippy; do
  have_component "$c" || rustup component add "$c"
done
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

# trunk 0.22 needs a newer rustc than this project's 1.95; 0.21.14 takes about 13 minutes to build.
if ! trunk --version 2>/dev/null | grep -q "0.21.14"; then
  cargo install trunk --version 0.21.14 --locked
fi
# trunk only uses a wasm-bindgen whose version equals Cargo.lock's (it would download one otherwise).
wbg=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $wbg"; then
  # Not --locked: the lock file published with 0.2.130 names a crate version crates.io no longer serves.
  cargo install wasm-bindgen-cli --version "$wbg"
fi
# The build compresses the wasm module with xz (scripts/post-build.mjs).
command -v xz >/dev/null || { $sudo apt-get update && $sudo apt-get install -y xz-utils; }
[ "$what" = serve ] && exit 0

command -v npm >/dev/null || { $sudo apt-get update && $sudo apt-get install -y npm; }
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  $sudo apt-get update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver fonts-dejavu-core
fi
if [ ! -d tests/e2e/node_modules/playwright-core ]; then
  (cd tests/e2e && npm ci --no-audit --no-fund)
fi
