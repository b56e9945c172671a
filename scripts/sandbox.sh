#!/usr/bin/env bash
# The Asterisk sandbox: a Debian sid root with Asterisk 22, built once with
# debootstrap outside the repository, configured from asterisk-conf/ and
# dialplan/, running on 127.0.0.1 (ARI 8088, PJSIP 5060).
#
#   scripts/sandbox.sh up       build if needed, install config, start, wait for ARI
#   scripts/sandbox.sh down     stop Asterisk, undo every mount made by `up`
#   scripts/sandbox.sh status   built? running? mounts? ARI answers?
#   scripts/sandbox.sh cli CMD  run an Asterisk CLI command in the sandbox
#   scripts/sandbox.sh cel-url  the database Asterisk writes its CEL into (see cel_database_url)
set -euo pipefail

# Also sourced, for its functions, by scripts/cluster.sh (the cluster's nodes run in this root).
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=${PBXCRM_SANDBOX_ROOT:-/var/lib/pbxcrm/sandbox}
ARI_URL=${PBXCRM_ARI_URL:-http://127.0.0.1:8088}
ARI_USER=${PBXCRM_ARI_USER:-pbxcrm}
ARI_PASSWORD=${PBXCRM_ARI_PASSWORD:-pbxcrm-sandbox}
# Which Asterisk of the root the functions below mean: the sandbox's own (its asterisk.conf in the
# default place, its run directory /run/asterisk), or one of scripts/cluster.sh's nodes (their own).
ASTERISK_CONF=""
ASTERISK_RUN=/run/asterisk
# The browser phones' passwords derive from it (crm/webrtc/credentials.py): PBXCRM_WEBRTC_SECRET's default.
WEBRTC_SECRET=${PBXCRM_WEBRTC_SECRET:-pbxcrm-sandbox-webrtc}
# Prompts in English and Russian (the language of a line or the call centre's: the
# caller-facing prompts follow it); asterisk-core-sounds-ru links sounds/ru to the voice.
PACKAGES=asterisk,asterisk-core-sounds-en-gsm,asterisk-core-sounds-ru,asterisk-core-sounds-ru-gsm,asterisk-moh-opsound-gsm

say() { echo "sandbox: $*" >&2; }
die() { say "error: $*"; exit 1; }

need_root() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot and mounts need it); try: sudo $0 $*"
}

# The mirror the host's own apt uses, so the sandbox needs no address of its own.
debian_mirror() {
  if [ -n "${PBXCRM_DEBIAN_MIRROR:-}" ]; then echo "$PBXCRM_DEBIAN_MIRROR"; return; fi
  local uri=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1=="deb" && $2 !~ /^\[/ {print $2; exit} $1=="deb" {print $3; exit}' /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || die "cannot tell the Debian mirror from /etc/apt; set PBXCRM_DEBIAN_MIRROR"
  echo "${uri%/}"
}

is_built() { [ -f "$ROOT/.pbxcrm-built" ] && [ -x "$ROOT/usr/sbin/asterisk" ]; }

build() {
  is_built && return 0
  command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
  local mirror; mirror=$(debian_mirror)
  local host=${mirror#*://}; host=${host%%/*}
  [[ $host == *:* ]] || host=$host:80
  timeout 20 bash -c "exec 3<>/dev/tcp/${host%:*}/${host##*:}" 2>/dev/null \
    || die "no network to the Debian package mirror ($host); the sandbox cannot be built"
  say "building a Debian sid root with Asterisk in $ROOT (once; about a minute)"
  rm -rf "$ROOT.partial"
  mkdir -p "$(dirname "$ROOT")"
  if ! debootstrap --variant=minbase --include="$PACKAGES" sid "$ROOT.partial" "$mirror" \
        > "$ROOT.debootstrap.log" 2>&1; then
    tail -n 20 "$ROOT.debootstrap.log" >&2
    die "debootstrap failed; full log in $ROOT.debootstrap.log"
  fi
  # Keep Debian's sample configuration for reference; ours replaces it.
  mv "$ROOT.partial/etc/asterisk" "$ROOT.partial/etc/asterisk.debian"
  rm -rf "$ROOT"
  mv "$ROOT.partial" "$ROOT"
  touch "$ROOT/.pbxcrm-built"
}

# A root built before a package joined PACKAGES gets it here; nothing is done when all are in.
install_missing_packages() {
  local missing=() pkg
  for pkg in ${PACKAGES//,/ }; do
    [ "$(chroot "$ROOT" dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null)" = "ii " ] || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing into the sandbox: ${missing[*]}"
  mount_all
  local log="$ROOT.apt.log" policy="$ROOT/usr/sbin/policy-rc.d" own_policy=0
  # No service may start inside the root while apt runs: only `up` starts Asterisk there.
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && own_policy=1
  fi
  # Not checking Valid-Until, as debootstrap does not: a mirror may serve a sid a few weeks old.
  local ok=1 apt=(chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Check-Valid-Until=false)
  { "${apt[@]}" update && "${apt[@]}" install -y --no-install-recommends "${missing[@]}"
  } > "$log" 2>&1 || ok=0
  [ "$own_policy" = 1 ] && rm -f "$policy"
  if [ "$ok" = 0 ]; then
    tail -n 20 "$log" >&2
    die "could not install ${missing[*]} into the sandbox; full log in $log"
  fi
}

mounts_under_root() { awk -v r="$ROOT/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r; }

mount_all() {
  mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
  mountpoint -q "$ROOT/dev" || mount --bind /dev "$ROOT/dev"
}

umount_all() {
  local m
  for m in $(mounts_under_root); do
    umount "$m" 2>/dev/null || umount -l "$m"
  done
}

# Asterisk writes its Channel Event Logging (asterisk-conf/cel.conf) into PostgreSQL, where
# `pbxcrm ari` builds the call log of calls the Stasis app did not see (crm/cel/). Its own
# database, as a PBX's often is: PBXCRM_CEL_DATABASE_URL, else the database pbxcrm_asterisk on
# DATABASE_URL's server (made here). `pbxcrm ari` reads it from PBXCRM_CEL_DATABASE_URL.
cel_database_url() {
  if [ -n "${PBXCRM_CEL_DATABASE_URL:-}" ]; then echo "$PBXCRM_CEL_DATABASE_URL"; return 0; fi
  [ -n "${DATABASE_URL:-}" ] || return 1
  python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/pbxcrm_asterisk")))' \
    "$DATABASE_URL"
}

# cel_pgsql.conf's connection, from the URL: the table must be there before Asterisk loads
# the module (it reads the columns once). Without a database CEL goes nowhere: said, not fatal.
configure_cel() {
  local conf=$1 url
  if ! url=$(cel_database_url); then
    say "warning: neither PBXCRM_CEL_DATABASE_URL nor DATABASE_URL is set: Asterisk's CEL is not written to PostgreSQL"
    printf '; no database: CEL to PostgreSQL is off (scripts/sandbox.sh)\n' > "$conf"
    return 0
  fi
  if [ -z "${PBXCRM_CEL_DATABASE_URL:-}" ] \
      && [ "$(psql "$DATABASE_URL" -tAc "SELECT 1 FROM pg_database WHERE datname = 'pbxcrm_asterisk'" 2>/dev/null)" != 1 ]; then
    psql "$DATABASE_URL" -qc 'CREATE DATABASE pbxcrm_asterisk' >/dev/null 2>&1 || true
  fi
  if ! psql "$url" -q -v ON_ERROR_STOP=1 -f "$repo/asterisk-conf/cel_pgsql.sql" >/dev/null 2>&1; then
    say "warning: cannot make the CEL table in ${url##*@}: Asterisk's CEL is not written to PostgreSQL"
    printf '; the database did not answer: CEL to PostgreSQL is off (scripts/sandbox.sh)\n' > "$conf"
    return 0
  fi
  python3 - "$url" "$conf" <<'PY'
import re, sys, urllib.parse as u
url, conf = sys.argv[1], sys.argv[2]
p = u.urlsplit(url)
values = {"hostname": p.hostname or "127.0.0.1", "port": str(p.port or 5432), "dbname": p.path.lstrip("/"),
          "user": u.unquote(p.username or ""), "password": u.unquote(p.password or ""), "table": "cel"}
text = open(conf).read()
for key, value in values.items():
    text = re.sub(rf"^{key} *=.*$", lambda _m: f"{key} = {value}", text, flags=re.M)
open(conf, "w").write(text)
PY
}

# What every Asterisk of the root runs, in $1: Debian's defaults first, so every file Asterisk looks
# for is there; ours on top; the dialplan; ARI's password; CEL into PostgreSQL.
base_config() {
  local dest=$1
  rm -rf "$dest"
  mkdir -p "$dest/pbxcrm"
  cp -a "$ROOT/etc/asterisk.debian/." "$dest/"
  cp "$repo"/asterisk-conf/*.conf "$dest/"
  rm -f "$dest/users.conf"  # deprecated; pbx_config warns while it exists
  cp "$repo"/dialplan/*.conf "$dest/pbxcrm/"
  sed -i "s/^password *=.*/password = $ARI_PASSWORD/" "$dest/ari.conf"
  configure_cel "$dest/cel_pgsql.conf"
}

install_config() {
  local etc="$ROOT/etc/asterisk"
  base_config "$etc.new"
  # The browser phone (issue 19): http.conf's TLS certificate, made by the project's script from
  # a CA kept in the root (tests trust $ROOT/etc/pbxcrm-tls/ca.crt), and one browser endpoint
  # per sandbox phone, its password derived from the sandbox's secret.
  "$repo/scripts/webrtc-certs.sh" "$ROOT/etc/pbxcrm-tls" 127.0.0.1 localhost
  python3 "$repo/scripts/webrtc-endpoints.py" --secret "$WEBRTC_SECRET" \
    $(awk -F'[][]' '/^\[[0-9]+\]\(phone\)/ {print $2}' "$repo/asterisk-conf/pjsip.conf") > "$etc.new/pjsip_webrtc.conf"
  rm -rf "$etc"
  mv "$etc.new" "$etc"
  mkdir -p "$ROOT/var/spool/asterisk/recording" "$ROOT/run/asterisk" "$ROOT/var/log/asterisk"
  # Uploaded greetings (issue 15): the CRM writes them here (PBXCRM_GREETINGS_DIR=$ROOT/var/lib/asterisk/
  # sounds/pbxcrm), Asterisk plays them as /var/lib/asterisk/sounds/pbxcrm (PBXCRM_GREETINGS_ASTERISK_DIR).
  mkdir -p "$ROOT/var/lib/asterisk/sounds/pbxcrm"
}

asterisk_pid() {
  # Not $ROOT/var/run: in sid that is an absolute link to /run, i.e. the host's.
  local pidfile="$ROOT$ASTERISK_RUN/asterisk.pid" pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [ -n "$pid" ] && [ -d "/proc/$pid" ] && [ "$(readlink "/proc/$pid/root")" = "$ROOT" ] || return 1
  echo "$pid"
}

cli() {
  # Without its asterisk.conf, a node's `asterisk -C` would fall back to the defaults: the sandbox's own.
  if [ -n "$ASTERISK_CONF" ] && [ ! -f "$ROOT$ASTERISK_CONF" ]; then
    say "no $ROOT$ASTERISK_CONF"
    return 1
  fi
  chroot "$ROOT" asterisk ${ASTERISK_CONF:+-C "$ASTERISK_CONF"} -rx "$*"
}

# ari_answers [URL] (default: the sandbox's ARI)
ari_answers() {
  curl -fsS -m 2 -u "$ARI_USER:$ARI_PASSWORD" "${1:-$ARI_URL}/ari/asterisk/info" >/dev/null 2>&1
}

# wait_for_ari [URL [LOG DIRECTORY in the root]]
wait_for_ari() {
  local url=${1:-$ARI_URL} i
  for i in $(seq 1 100); do
    ari_answers "$url" && return 0
    sleep 0.3
  done
  tail -n 30 "$ROOT${2:-/var/log/asterisk}/messages" >&2 2>/dev/null || true
  die "Asterisk started but ARI does not answer at $url after 30 s"
}

up() {
  need_root up
  command -v curl >/dev/null || die "curl is not installed"
  build
  install_missing_packages
  local modules_changed=0
  cmp -s "$repo/asterisk-conf/modules.conf" "$ROOT/etc/asterisk/modules.conf" || modules_changed=1
  install_config
  mount_all
  if asterisk_pid >/dev/null && [ "$modules_changed" = 1 ]; then
    # A reload does not load modules newly listed in modules.conf.
    say "modules.conf changed; restarting Asterisk"
    stop_asterisk
  fi
  if asterisk_pid >/dev/null; then
    say "Asterisk is running; reloading configuration"
    cli "core reload" >/dev/null
  else
    say "starting Asterisk"
    # No -U: switching user, even to root, drops the capabilities ASTdb needs here.
    # Not marked as a test run's process (tests/conftest.py): the sandbox outlives the run.
    env -u PBXCRM_TEST_RUN chroot "$ROOT" /usr/sbin/asterisk -n
  fi
  wait_for_ari
  say "up: ARI $ARI_URL (user $ARI_USER), PJSIP udp 127.0.0.1:5060, wss 127.0.0.1:8089/ws, root $ROOT"
}

stop_asterisk() {
  local pid
  pid=$(asterisk_pid) || return 0
  cli "core stop now" >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do [ -d "/proc/$pid" ] || break; sleep 0.2; done
  if [ -d "/proc/$pid" ]; then kill -9 "$pid" 2>/dev/null || true; sleep 0.2; fi
}

down() {
  need_root down
  stop_asterisk
  # Anything else still running inside the root would keep its mounts busy.
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$ROOT" ] && kill -9 "${p#/proc/}" 2>/dev/null || true
  done
  [ -d "$ROOT" ] && umount_all
  say "down"
}

status() {
  local rc=0
  if is_built; then echo "built: yes ($ROOT)"; else echo "built: no ($ROOT)"; rc=1; fi
  if pid=$(asterisk_pid); then echo "asterisk: running (pid $pid)"; else echo "asterisk: stopped"; rc=1; fi
  echo "mounts: $(mounts_under_root | tr '\n' ' ')"
  if ari_answers; then echo "ari: answers at $ARI_URL"; else echo "ari: no answer at $ARI_URL"; rc=1; fi
  return $rc
}

# Run, not sourced: the command.
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0
case "${1:-}" in
  build) need_root build; build; install_missing_packages ;;
  up) up ;;
  down) down ;;
  status) status ;;
  cli) shift; need_root cli; cli "$@" ;;
  cel-url) cel_database_url || die "neither PBXCRM_CEL_DATABASE_URL nor DATABASE_URL is set" ;;
  *) echo "usage: $0 build|up|down|status|cli COMMAND|cel-url" >&2; exit 2 ;;
esac
