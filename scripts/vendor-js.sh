#!/usr/bin/env bash
# The browser phone's SIP library (issue 19): JsSIP from the npm registry, pinned by
# package.json + package-lock.json, installed with `npm ci` and bundled by esbuild into
# web/static/vendor/jssip/jssip.min.js (same input, same bytes). `make venv` runs this; nothing
# is copied by hand. Skipped when the bundle is newer than the lock file and the entry file.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
out=web/static/vendor/jssip/jssip.min.js
if [ -f "$out" ] && [ "$out" -nt package-lock.json ] && [ "$out" -nt web/static/phone/jssip-entry.js ] \
    && [ -d node_modules/jssip ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "pbxcrm: npm is not installed (apt-get install npm)" >&2; exit 1; }
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
echo "pbxcrm: built $out from $(node -p 'require("jssip/package.json").version' 2>/dev/null | sed 's/^/JsSIP /')"
