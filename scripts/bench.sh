#!/usr/bin/env bash
# `make bench`: the sandbox up, a database server, bench/run.py. Not part of `make test`.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
scripts/with-sandbox.sh scripts/with-db.sh "$repo/.venv/bin/python" bench/run.py
