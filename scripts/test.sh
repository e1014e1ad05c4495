#!/usr/bin/env bash
# Runs every test: formatting, lints, the native unit and integration tests (which need MNIST,
# fetched and verified first), the shipped model in ONNX Runtime, and the page end to end in a
# real headless Chromium (Debian's), built by trunk, at / and under a sub-path; and the GitHub
# Pages workflow.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/fetch-mnist.sh

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --release -- -D warnings
cargo clippy -p digits-web -p digits-train-web --target wasm32-unknown-unknown --release -- -D warnings
echo "== cargo test"
cargo test --workspace --release
echo "== wasm == native: preprocessing + inference in headless Chromium (wasm-bindgen-test)"
cargo run -p digits-web --release --example parity_fixture
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner CHROMEDRIVER=$(command -v chromedriver) \
  cargo test -p digits-web --target wasm32-unknown-unknown --release --test parity --test page --test training

echo "== the shipped ONNX model in the official checker and ONNX Runtime"
py=target/pyenv/bin/python
if [ ! -x "$py" ]; then
  python3 -m venv target/pyenv || { apt-get install -y python3-venv && python3 -m venv target/pyenv; }
fi
"$py" -c "import onnx, onnxruntime, numpy, yaml" 2>/dev/null ||
  "$py" -m pip install --quiet --disable-pip-version-check onnx onnxruntime numpy pyyaml
"$py" tests/onnx_interop.py

echo "== the GitHub Pages workflow"
"$py" tests/pages_workflow.py

echo "== the page, end to end in headless Chromium, served at /"
scripts/build.sh /
(cd tests/e2e && npm test)
echo "== the page again, built for and served under a sub-path, as GitHub Pages serves it"
# Every file that fetches something by its path (the module, models, reports, test and training
# sets, workers, the service worker and manifest, the security policy); numbers and inside only
# draw on what page and report have already fetched there.
trunk build --release --offline --public-url /x/y/ --dist target/dist-subpath
(cd tests/e2e && DIGITS_DIST=../../target/dist-subpath DIGITS_BASE=/x/y/ node --test --test-concurrency=1 \
  ./page.test.mjs ./offline.test.mjs ./report.test.mjs ./security.test.mjs ./train.test.mjs ./personal.test.mjs)
