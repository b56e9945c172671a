#!/usr/bin/env bash
# `make demo-call [LOGIN=ivanova]`: while `make demo` runs, one of this manager's clients calls the
# demo's main line; the CRM routes the client to its manager, whose phone rings and the card pops.
# The hook for the browser phone (issue 19): once a user's browser endpoint rings with the desk phone,
# this same call rings in the browser; until then the manager's simulated desk phone answers it.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
: "${DATABASE_URL:?scripts/with-db.sh sets it}"
exec "${PBXCRM_BIN:-$repo/.venv/bin/pbxcrm}" demo-call --login "${1:-ivanova}" --seconds "${PBXCRM_DEMO_CALL_SECONDS:-45}"
