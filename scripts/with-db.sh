#!/usr/bin/env bash
# Runs a command with DATABASE_URL set: the caller's own database when it is
# set, otherwise the project's private cluster, started here and stopped when
# the command ends.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${DATABASE_URL:-}" ]; then
  # Stop the cluster afterwards only if it was not already running.
  "$here/pg.sh" running || trap '"$here/pg.sh" stop' EXIT
  DATABASE_URL=$("$here/pg.sh" start)
  export DATABASE_URL
  echo "pbxcrm: private PostgreSQL at $DATABASE_URL" >&2
fi
"$@"
