#!/usr/bin/env bash
# `make lint` (and the first step of `make test`): ruff, then mypy, as configured in pyproject.toml.
# Stops at the first one that fails, saying which.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bin="${PBXCRM_VENV_BIN:-$repo/.venv/bin}"

if ! "$bin/ruff" check .; then
    echo "lint: ruff found problems (above). \`$bin/ruff check --fix .\` sorts imports; fix the rest by hand." >&2
    exit 1
fi
if ! "$bin/mypy"; then
    echo "lint: mypy found type errors (above) in crm web ari_app agi pbxcrm." >&2
    exit 1
fi
echo "lint: ruff and mypy clean"
