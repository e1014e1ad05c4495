#!/usr/bin/env bash
# trunk pre_build hook: builds the page's wasm module (crates/web) a second time, with relaxed
# SIMD on top of SIMD128. tract's wasm matrix kernels then use the fused multiply-add
# f32x4.relaxed_madd, which makes one inference about a tenth faster (docs/performance.md,
# "Inference against ONNX Runtime"). A module with relaxed SIMD instructions does not load at all
# in a browser without them, so the page ships both and its loader picks one
# (scripts/post-build.mjs runs wasm-bindgen on this build, checks that the glue is the same
# as for trunk's own build, and writes the choice).
#
# The same profile, crate and features as index.html's <link data-trunk rel="rust">, in a
# target directory of its own (the flags differ, so sharing trunk's would rebuild both each time).
set -euo pipefail
cd "$(dirname "$0")/.."
RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd" \
  cargo build --target wasm32-unknown-unknown -p digits-web --lib --profile web --locked --offline \
  --target-dir target/wasm-relaxed
