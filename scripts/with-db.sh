#!/usr/bin/env bash
# Runs a command with DATABASE_URL set: the caller's own database when it is
# set, otherwise the project's private cluster, started here and stopped when
# the command ends.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$("$here/pg.sh" start)
  export DATABASE_URL
  trap '"$here/pg.sh" stop' EXIT
  echo "pbxcrm: private PostgreSQL at $DATABASE_URL" >&2
fi
"$@"
