#!/usr/bin/env bash
# A private PostgreSQL cluster for when DATABASE_URL is not set: Debian's
# PostgreSQL binaries, a data folder the project owns, 127.0.0.1 only.
#
#   scripts/pg.sh start   init if needed, start, create database; prints the URL
#   scripts/pg.sh stop    fast shutdown
#   scripts/pg.sh running exit 0 when the cluster is up
#   scripts/pg.sh url     the URL the cluster answers on
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
PORT=${PBXCRM_PG_PORT:-55432}
DBNAME=${PBXCRM_PG_DB:-pbxcrm}
if [ "$(id -u)" -eq 0 ]; then
  # PostgreSQL refuses to run as root: the cluster belongs to the postgres user,
  # in a folder it can reach whatever the permissions of the checkout are.
  DATA=${PBXCRM_PGDATA:-/var/lib/pbxcrm/pgdata}
  as_owner() { runuser -u postgres -- "$@"; }
else
  DATA=${PBXCRM_PGDATA:-$repo/var/pgdata}
  as_owner() { "$@"; }
fi

die() { echo "pg: error: $*" >&2; exit 1; }

bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] || die "Debian's PostgreSQL is not installed (apt-get install postgresql)"
  echo "$d"
}

url() { echo "postgresql://postgres@127.0.0.1:$PORT/$DBNAME"; }

start() {
  local bin; bin=$(bindir)
  if [ ! -f "$DATA/PG_VERSION" ]; then
    mkdir -p "$DATA"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$DATA"
    chmod 700 "$DATA"
    as_owner "$bin/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null \
      || die "initdb failed in $DATA"
  fi
  if ! as_owner "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    as_owner "$bin/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 30 \
      -o "-p $PORT -c listen_addresses=127.0.0.1 -k $DATA -c fsync=off -c synchronous_commit=off" \
      start >/dev/null || { tail -n 20 "$DATA/server.log" >&2; die "PostgreSQL did not start"; }
  fi
  if ! psql -h 127.0.0.1 -p "$PORT" -U postgres -tAc "select 1 from pg_database where datname='$DBNAME'" postgres | grep -q 1; then
    createdb -h 127.0.0.1 -p "$PORT" -U postgres "$DBNAME"
  fi
  url
}

stop() {
  local bin; bin=$(bindir)
  [ -f "$DATA/PG_VERSION" ] || return 0
  as_owner "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1 || return 0
  as_owner "$bin/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
}

running() {
  local bin; bin=$(bindir)
  [ -f "$DATA/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

case "${1:-}" in
  start) start ;;
  running) running ;;
  stop) stop ;;
  url) url ;;
  *) echo "usage: $0 start|stop|running|url" >&2; exit 2 ;;
esac
