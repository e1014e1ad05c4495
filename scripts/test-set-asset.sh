#!/usr/bin/env bash
# trunk build hook: puts the MNIST test set (gzip-compressed IDX, ~1.6 MB) into the site, for the
# page's in-browser evaluation. The data set is fetched and verified, never kept in git.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-mnist.sh >/dev/null
out=${TRUNK_STAGING_DIR:?run by trunk}
for f in t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  gzip -9 -n -c "data/mnist/$f" > "$out/$f.gz"
done
