#!/usr/bin/env bash
# `make bench`: the sandbox up, a database server, bench/run.py. Not part of `make test`.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
was_running=0
scripts/sandbox.sh status >/dev/null 2>&1 && was_running=1
scripts/sandbox.sh up
[ "$was_running" = 1 ] || trap 'scripts/sandbox.sh down' EXIT
scripts/with-db.sh "$repo/.venv/bin/python" bench/run.py
