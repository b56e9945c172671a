#!/usr/bin/env bash
# `make demo`: the product on this machine as a living call centre (issue 19) - web UI on
# 127.0.0.1:8000, the Stasis app connected to the sandbox Asterisk, weeks of history in the
# reports (seeded once: a second run adds nothing), and live sipp calls from clients and strangers
# every ~20 s answered by simulated phones. Ctrl-C (or SIGTERM) stops it all: the app, the web UI,
# every sipp, and the sandbox when this script started it.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
pbxcrm=${PBXCRM_BIN:-$repo/.venv/bin/pbxcrm}
: "${DATABASE_URL:?scripts/with-db.sh sets it}"
port=${PBXCRM_WEB_PORT:-8000}
every=${PBXCRM_DEMO_EVERY:-20}
mkdir -p var/log
started=$(date +%s)
# Uploaded greetings go where the sandbox's chrooted Asterisk plays them (README: Greetings).
export PBXCRM_GREETINGS_DIR=${PBXCRM_GREETINGS_DIR:-${PBXCRM_SANDBOX_ROOT:-/var/lib/pbxcrm/sandbox}/var/lib/asterisk/sounds/pbxcrm}
export PBXCRM_GREETINGS_ASTERISK_DIR=${PBXCRM_GREETINGS_ASTERISK_DIR:-/var/lib/asterisk/sounds/pbxcrm}

"$pbxcrm" migrate
# Stop the sandbox afterwards only if it was not already running (as scripts/with-db.sh does PostgreSQL).
sandbox_was_up=no
scripts/sandbox.sh status >/dev/null 2>&1 && sandbox_was_up=yes
scripts/sandbox.sh up
# The sandbox's Asterisk writes its CEL into a database of its own: the app reads the calls it missed there.
PBXCRM_CEL_DATABASE_URL=$(scripts/sandbox.sh cel-url)
export PBXCRM_CEL_DATABASE_URL

new_password() { python3 -c 'import secrets; print(secrets.token_urlsafe(9))'; }
password=$(new_password)
if ! "$pbxcrm" create-user --login demo --name "Demo Admin" --role admin --extension 101 \
      --password "$password" >/dev/null 2>&1; then
  "$pbxcrm" set-password --login demo --password "$password" >/dev/null
fi

# A base to work with, the first time only; then weeks of history (once: it knows its own calls).
if [ "$(psql "$DATABASE_URL" -tAc 'select count(*) from counterparties')" = "0" ]; then
  "$pbxcrm" demo-data --clients "${PBXCRM_DEMO_CLIENTS:-5000}" >/dev/null
fi
"$pbxcrm" demo-history
# The manager the person at the browser plays: a fresh password each run, printed below.
manager=${PBXCRM_DEMO_MANAGER:-ivanova}
manager_password=$(new_password)
"$pbxcrm" set-password --login "$manager" --password "$manager_password" >/dev/null

pids=()
watcher=
cleanup() {
  trap - EXIT INT TERM
  echo "demo: stopping"
  [ -n "$watcher" ] && kill "$watcher" 2>/dev/null
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$sandbox_was_up" = no ]; then scripts/sandbox.sh down; fi
  echo "demo: stopped"
}
trap cleanup EXIT INT TERM
# `make` passes a SIGTERM to scripts/with-db.sh only, which dies at once: when our parent is gone, we stop too.
parent=$PPID
( while kill -0 "$parent" 2>/dev/null; do sleep 1; done; kill -TERM $$ 2>/dev/null ) >/dev/null 2>&1 &
watcher=$!

"$pbxcrm" ari >> var/log/ari.log 2>&1 & pids+=($!)
"$pbxcrm" web --port "$port" >> var/log/web.log 2>&1 & pids+=($!)
"$pbxcrm" agi >> var/log/agi.log 2>&1 & pids+=($!)
# SMS: the tests' SMSC (Net::SMPP, tests/smsc.pl) on loopback as the demo's provider, a gateway row for
# it (once), and the sender. Texts to +7999... get an "undelivered" receipt, as a real SMSC would.
smsc_port=${PBXCRM_DEMO_SMSC_PORT:-2775}
mkdir -p var/smsc
perl tests/smsc.pl "$smsc_port" var/smsc undeliv_to='^7999' >> var/log/smsc.log 2>&1 & pids+=($!)
psql -q "$DATABASE_URL" -v port="$smsc_port" >/dev/null <<'SQL'
INSERT INTO sms_gateways (name, kind, config)
VALUES ('Demo SMSC', 'smpp', jsonb_build_object('host', '127.0.0.1', 'port', :port, 'system_id', 'pbxcrm',
                                                'password', 'demo', 'window', 10, 'rate', 50))
ON CONFLICT (name) DO NOTHING;
INSERT INTO sms_numbers (number, gateway_id, is_default)
SELECT '+74950000001', id, NOT EXISTS (SELECT 1 FROM sms_numbers WHERE is_default) FROM sms_gateways
WHERE name = 'Demo SMSC' ON CONFLICT (number) DO NOTHING;
SQL
"$pbxcrm" sms >> var/log/sms.log 2>&1 & pids+=($!)
# E-mail (issue 23): a Dovecot on loopback (tests/dovecot.py) with the demo's mailbox, a row for it (once),
# and the poller, which files its messages on the cards of the clients who wrote them.
imap_port=${PBXCRM_DEMO_IMAP_PORT:-1143}
senders=$(psql "$DATABASE_URL" -tAc "select string_agg(normalized, ',') from (select normalized from contacts
  where kind = 'email' and deleted_at is null order by id limit 6) c")
.venv/bin/python -m tests.dovecot --dir var/dovecot --port "$imap_port" --user sales@demo.pbxcrm \
  --password demo-imap --from "$senders" >> var/log/dovecot.log 2>&1 & pids+=($!)
psql -q "$DATABASE_URL" -v port="$imap_port" >/dev/null <<'SQL'
INSERT INTO mailboxes (name, address, imap_host, imap_port, imap_security, imap_user, imap_password)
SELECT 'Demo sales', 'sales@demo.pbxcrm', '127.0.0.1', :port, 'none', 'sales@demo.pbxcrm', 'demo-imap'
WHERE NOT EXISTS (SELECT 1 FROM mailboxes WHERE lower(address) = 'sales@demo.pbxcrm' AND deleted_at IS NULL);
SQL
"$pbxcrm" mail >> var/log/mail.log 2>&1 & pids+=($!)

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

# Live calls: simulated phones answer, callers ring the demo's lines (crm/demo/stream.py).
# The manager the person plays takes her calls in the browser phone: no simulated desk phone for her.
"$pbxcrm" demo-calls --every "$every" --browser "$manager" >> var/log/demo-calls.log 2>&1 & pids+=($!)

cat <<BANNER

  pbxcrm is running: a living call centre (ready in $(( $(date +%s) - started )) s)
    web UI:      http://127.0.0.1:$port
    admin:       demo / $password
    manager:     $manager / $manager_password   (her clients ring the browser phone in her pages)
    others:      managers petrov, sidorova; operators smirnova, kozlov, morozova, volkov
                 (a password: .venv/bin/pbxcrm set-password --login L)
    reports:     http://127.0.0.1:$port/reports/queues  /reports/agents  /reports/calls  /reports/lines  /reports/deals
    live calls:  a caller about every $every s, answered by simulated phones (var/log/demo-calls.log)
    call yourself: log in as $manager, then in another terminal run
                   make demo-call            (or: make demo-call LOGIN=petrov)
                 one of $manager's clients calls the main line 74957654321: her browser phone rings with
                 the client's card; answer it there (unanswered, the queue's operators take it).
    browser phone: open https://127.0.0.1:8089/ws once and accept the sandbox's certificate (then "Upgrade Required" is right)
                 (or trust /var/lib/pbxcrm/sandbox/etc/pbxcrm-tls/ca.crt); allow the microphone.
    e-mail:      the mailbox sales@demo.pbxcrm (Dovecot on 127.0.0.1:$imap_port, login sales@demo.pbxcrm / demo-imap)
                 is read by pbxcrm mail: admin page /admin/mailboxes
    logs:        var/log/web.log, var/log/ari.log, var/log/agi.log, var/log/mail.log, var/log/demo-sipp/
  Ctrl-C stops it.

BANNER
wait "${pids[@]}"
