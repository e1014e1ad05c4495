#!/usr/bin/env bash
# Builds the app and reports on the shipped model. (The page itself is the next milestone; until
# it lands this command builds the `digits` tool and evaluates the model the page will run.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/fetch-mnist.sh
cargo build --release -p digits-train
./target/release/digits eval
