#!/usr/bin/env bash
# Builds the static site into dist/ (release), for hosting under PUBLIC_URL, the path the site is
# served from: "/" (the default) or, on GitHub Pages, "/REPO/". Installs what is missing first.
#   scripts/build.sh [PUBLIC_URL]
set -euo pipefail
cd "$(dirname "$0")/.."
public_url=${1:-/}
case "$public_url" in
  /*/ | /) ;;
  *) echo "build.sh: PUBLIC_URL must start and end with '/', like /digits/ (got '$public_url')" >&2; exit 2 ;;
esac
scripts/setup.sh serve
trunk build --release --offline --public-url "$public_url"
echo "built dist/ for $public_url"
