#!/usr/bin/env bash
# The README's second command: install everything the suite needs, then typecheck + lint + format
# check, then run every test. Exits non-zero on any failure.
# System packages (Debian, as root): Chromium for the browser parity tests (driven by playwright-core;
# never `playwright install`) and redis-server for the entity-store tests. Skipped when present.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
if [ ${#need[@]} -gt 0 ]; then
  echo "verify: installing ${need[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq "${need[@]}" >/dev/null
fi
# onnxruntime-node (a benchmark peer) ships its CPU binaries; its install script would download more.
export ONNXRUNTIME_NODE_INSTALL=skip
if [ ! -d node_modules ] || [ package.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi
npm run check
npm test
