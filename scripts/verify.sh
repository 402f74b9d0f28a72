#!/usr/bin/env bash
# The README's second command: install everything the suite needs, then typecheck + lint + format
# check, then run every test. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi
npm run check
npm test
