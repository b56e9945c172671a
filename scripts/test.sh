#!/usr/bin/env bash
# `make test`: ruff and mypy first (fail fast), then a database, the sandbox Asterisk up, pytest.
# Telephony is never skipped.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
scripts/lint.sh
# The database first: the sandbox's Asterisk writes its CEL into a database on that server.
# Two workers (pytest-xdist): the modules that drive the one Asterisk run in order in one of them
# (tests/conftest.py's scheduler), the unit, HTTP and browser modules share both; about half the
# wall time on two cores. PBXCRM_TEST_WORKERS=0 runs everything in one process.
workers=${PBXCRM_TEST_WORKERS:-2}
scripts/with-db.sh scripts/with-sandbox.sh "$repo/.venv/bin/pytest" -n "$workers" --dist load "$@"
