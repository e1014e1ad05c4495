#!/usr/bin/env bash
# Serves the page at http://127.0.0.1:8080/ (release build, rebuilt on change). Installs what
# is missing first. Set PORT to use another port.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh serve
# No auto-reload: the service worker serves each build whole from its cache, and offers a new
# build with its "Update now" banner instead.
exec trunk serve --release --offline --no-autoreload --port "${PORT:-8080}"
