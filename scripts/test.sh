#!/usr/bin/env bash
# `make test`: ruff and mypy first (fail fast), then the sandbox Asterisk up, a database, pytest.
# Telephony is never skipped.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
scripts/lint.sh
scripts/with-sandbox.sh scripts/with-db.sh "$repo/.venv/bin/pytest" "$@"
