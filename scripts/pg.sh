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

# Memory settings (issue 25), from the machine's RAM (PBXCRM_PG_RAM_MB overrides it): the caller
# lookup's indexes and rows - about 0.8 GB at 1,000,000 clients, 150 MB of it indexes - stay in
# PostgreSQL's own cache beside everything else. On 24 GB: shared_buffers 6 GB (a quarter, at most
# 8 GB), effective_cache_size 18 GB (three quarters), work_mem 32 MB, maintenance_work_mem 1 GB.
# pg_prewarm's autoprewarm (shared_preload_libraries) saves the cache's list of pages every
# 5 minutes and reads them back after a restart: the first calls after one find the index warm too.
# README ("PostgreSQL settings") gives the same for a cluster of your own.
memory_settings() {
  local ram shared
  ram=${PBXCRM_PG_RAM_MB:-$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)}
  shared=$((ram / 4)); [ "$shared" -gt 8192 ] && shared=8192; [ "$shared" -lt 128 ] && shared=128
  local maintenance=$((ram / 16)); [ "$maintenance" -gt 1024 ] && maintenance=1024; [ "$maintenance" -lt 64 ] && maintenance=64
  local work=$((ram / 768)); [ "$work" -gt 64 ] && work=64; [ "$work" -lt 4 ] && work=4
  # pg_stat_statements: each statement's calls and time, which `make bench` reads for its profiles
  # (bench/pg_statements.py); its cost is a hash update per statement.
  local libs="" lib
  for lib in pg_prewarm pg_stat_statements; do
    [ -f "$(bindir)/../lib/$lib.so" ] && libs="${libs:+$libs,}$lib"
  done
  local preload=""
  [ -n "$libs" ] && preload="-c shared_preload_libraries=$libs"
  echo "-c shared_buffers=${shared}MB -c effective_cache_size=$((ram * 3 / 4))MB -c work_mem=${work}MB" \
       "-c maintenance_work_mem=${maintenance}MB -c random_page_cost=1.1 -c effective_io_concurrency=200 $preload"
}

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
      -o "-p $PORT -c listen_addresses=127.0.0.1 -k $DATA -c fsync=off -c synchronous_commit=off $(memory_settings)" \
      start >/dev/null || { tail -n 20 "$DATA/server.log" >&2; die "PostgreSQL did not start"; }
  fi
  if ! psql -h 127.0.0.1 -p "$PORT" -U postgres -tAc "select 1 from pg_database where datname='$DBNAME'" postgres | grep -q 1; then
    createdb -h 127.0.0.1 -p "$PORT" -U postgres "$DBNAME"
  fi
  # pg_prewarm() for `pbxcrm ari`, which reads the lookup's indexes into the cache as it starts: in the
  # database, and in template1 for the databases made later (the bench's, the tests').
  local db
  for db in template1 "$DBNAME"; do
    PGOPTIONS="-c client_min_messages=warning" psql -h 127.0.0.1 -p "$PORT" -U postgres -qtAc "DO \$\$ BEGIN IF EXISTS (SELECT 1 FROM pg_available_extensions
      WHERE name = 'pg_prewarm') THEN CREATE EXTENSION IF NOT EXISTS pg_prewarm; END IF; END \$\$" "$db" >/dev/null
  done
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
