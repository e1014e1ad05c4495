#!/usr/bin/env bash
# trunk build hook: puts MNIST into the site as gzip-compressed IDX: the test set (~1.6 MB) for
# the page's in-browser check, and the training set (~10 MB) for "Train your own". Each is
# fetched only when its section needs it. The data set is fetched and verified, never kept in git.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-mnist.sh >/dev/null
out=${TRUNK_STAGING_DIR:?run by trunk}
for f in t10k-images-idx3-ubyte t10k-labels-idx1-ubyte train-images-idx3-ubyte train-labels-idx1-ubyte; do
  gzip -9 -n -c "data/mnist/$f" > "$out/$f.gz"
done
