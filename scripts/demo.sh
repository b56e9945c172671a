#!/usr/bin/env bash
# `make demo`: the product on this machine - web UI on 127.0.0.1:8000, the
# Stasis app connected to the sandbox Asterisk, a demo login, and one real
# sipp call so the calls page has something on it. Ctrl-C stops it all.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
pbxcrm=$repo/.venv/bin/pbxcrm
: "${DATABASE_URL:?scripts/with-db.sh sets it}"
port=${PBXCRM_WEB_PORT:-8000}
mkdir -p var/log
# Uploaded greetings go where the sandbox's chrooted Asterisk plays them (README: Greetings).
export PBXCRM_GREETINGS_DIR=${PBXCRM_GREETINGS_DIR:-${PBXCRM_SANDBOX_ROOT:-/var/lib/pbxcrm/sandbox}/var/lib/asterisk/sounds/pbxcrm}
export PBXCRM_GREETINGS_ASTERISK_DIR=${PBXCRM_GREETINGS_ASTERISK_DIR:-/var/lib/asterisk/sounds/pbxcrm}

"$pbxcrm" migrate
scripts/sandbox.sh up
# The sandbox's Asterisk writes its CEL into a database of its own: the app reads the calls it missed there.
PBXCRM_CEL_DATABASE_URL=$(scripts/sandbox.sh cel-url)
export PBXCRM_CEL_DATABASE_URL

password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(9))')
if ! "$pbxcrm" create-user --login demo --name "Demo Admin" --role admin --extension 101 \
      --password "$password" >/dev/null 2>&1; then
  "$pbxcrm" set-password --login demo --password "$password" >/dev/null
fi

# A base to work with, the first time only.
if [ "$(psql "$DATABASE_URL" -tAc 'select count(*) from counterparties')" = "0" ]; then
  "$pbxcrm" demo-data --clients "${PBXCRM_DEMO_CLIENTS:-5000}"
fi

pids=()
cleanup() {
  trap - EXIT INT TERM
  echo "demo: stopping"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  scripts/sandbox.sh down
}
trap cleanup EXIT INT TERM

"$pbxcrm" ari >> var/log/ari.log 2>&1 & pids+=($!)
"$pbxcrm" web --port "$port" >> var/log/web.log 2>&1 & pids+=($!)
"$pbxcrm" agi >> var/log/agi.log 2>&1 & pids+=($!)

for _ in $(seq 1 100); do
  curl -fsS -m 1 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS -m 1 "http://127.0.0.1:$port/healthz" >/dev/null || { tail var/log/web.log; echo "demo: the web UI did not start" >&2; exit 1; }
for _ in $(seq 1 50); do
  curl -fsS -m 1 -u "${PBXCRM_ARI_USER:-pbxcrm}:${PBXCRM_ARI_PASSWORD:-pbxcrm-sandbox}" \
    "${PBXCRM_ARI_URL:-http://127.0.0.1:8088}/ari/applications/${PBXCRM_ARI_APP:-pbxcrm}" >/dev/null 2>&1 && break
  sleep 0.2
done

echo "demo: placing a sipp call from 8 (495) 123-45-67 to 74957654321"
(cd /tmp && sipp -sf "$repo/tests/sipp/caller.xml" -key caller 84951234567 -key caller_name "Demo Caller" \
   -s 74957654321 -i 127.0.0.1 -p 5099 -m 1 -d 3000 -nostdin -timeout 30s 127.0.0.1:5060 >/dev/null 2>&1) \
  && echo "demo: call placed" || echo "demo: the sipp call failed (see var/log/ari.log)"

cat <<BANNER

  pbxcrm is running
    web UI:    http://127.0.0.1:$port
    login:     demo
    password:  $password
    logs:      var/log/web.log, var/log/ari.log, var/log/agi.log
  Ctrl-C stops it.

BANNER
wait "${pids[@]}"
