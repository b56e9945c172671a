#!/usr/bin/env bash
# `make test`: ruff and mypy first (fail fast), then a database, the sandbox Asterisk up, pytest.
# Telephony is never skipped.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
scripts/lint.sh
# The database first: the sandbox's Asterisk writes its CEL into a database on that server.
scripts/with-db.sh scripts/with-sandbox.sh "$repo/.venv/bin/pytest" "$@"
