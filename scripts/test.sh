#!/usr/bin/env bash
# `make test`: the sandbox Asterisk up (built on first use), a database, pytest.
# A sandbox that cannot be built fails the run: telephony is never skipped.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

was_running=0
scripts/sandbox.sh status >/dev/null 2>&1 && was_running=1
scripts/sandbox.sh up
# Leave the sandbox as we found it.
[ "$was_running" = 1 ] || trap 'scripts/sandbox.sh down' EXIT

scripts/with-db.sh "$repo/.venv/bin/pytest" "$@"
