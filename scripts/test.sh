#!/usr/bin/env bash
# `make test`: the sandbox Asterisk up, a database, pytest. Telephony is never skipped.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
scripts/with-sandbox.sh scripts/with-db.sh "$repo/.venv/bin/pytest" "$@"
