#!/usr/bin/env bash
# More than one PBX (README.md, "More than one PBX"): the nodes of cluster/nodes, each an Asterisk
# of its own inside the sandbox's root (scripts/sandbox.sh builds it; its own Asterisk on 127.0.0.1
# runs beside them, untouched), and Kamailio on the host in front of them (cluster/kamailio.cfg).
#
#   scripts/cluster.sh up                  build the root if needed, configure and start (or reload) every
#                                          node and the proxy; back when every node's ARI answers and the
#                                          proxy has every node in its turn
#   scripts/cluster.sh down                stop the nodes and the proxy (not the sandbox's Asterisk)
#   scripts/cluster.sh status              which run, whether each node's ARI answers, the proxy's turn
#   scripts/cluster.sh cli NODE COMMAND    an Asterisk CLI command on a node (a, b)
#   scripts/cluster.sh stop-node NODE      stop one node (`core stop now`): the proxy's failover
#   scripts/cluster.sh start-node NODE     start it again; back when its ARI answers and (the proxy
#                                          running) the proxy has it in its turn again
#   scripts/cluster.sh proxy-turn          the proxy's view: a line "ADDRESS:PORT FLAGS" a node (A active,
#                                          I inactive, T trying; P probed with OPTIONS)
#
# A node NAME of address ADDRESS: configuration /etc/asterisk-node-NAME in the root (its asterisk.conf
# names its own run, log, spool, cache and AstDB directories; sounds are shared), systemname node-NAME
# (its channels' uniqueids and linkedids start with it), PJSIP udp ADDRESS:5060, ARI http://ADDRESS:8088
# (the sandbox's ARI user and password), CEL into the sandbox's CEL table.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/sandbox.sh
source "$here/sandbox.sh"
say() { echo "cluster: $*" >&2; }

NODES=$repo/cluster/nodes
KAMAILIO_CFG=$repo/cluster/kamailio.cfg
KAMAILIO_RUN=/run/pbxcrm-kamailio
KAMAILIO_CTL=unix:$KAMAILIO_RUN/kamailio_ctl
# The proxy's address: the one its configuration listens on.
PROXY=$(sed -n 's/^listen=udp:\([0-9.]*\):5060.*/\1/p' "$KAMAILIO_CFG")

node_names() { awk '!/^#/ && NF {print $1}' "$NODES"; }
node_address() { awk -v n="$1" '!/^#/ && $1 == n {print $2}' "$NODES"; }
node_extensions() { awk -v n="$1" '!/^#/ && $1 == n {for (i = 3; i <= NF; i++) print $i}' "$NODES"; }
node_ari_url() { echo "http://$(node_address "$1"):8088"; }
# Nodes that have run here (their run directory is there) but are no longer in cluster/nodes.
former_nodes() {
  local dir name
  for dir in "$ROOT"/run/asterisk-node-*; do
    [ -d "$dir" ] || continue
    name=${dir##*/asterisk-node-}
    [ -n "$(node_address "$name")" ] || echo "$name"
  done
}
known_node() { [ -n "$1" ] && [ -n "$(node_address "$1")" ] || die "no node '${1:-}' in $NODES (nodes: $(node_names | tr '\n' ' '))"; }

# Runs a scripts/sandbox.sh function (cli, asterisk_pid, stop_asterisk) on node $1's Asterisk.
with_node() {
  local ASTERISK_CONF=/etc/asterisk-node-$1/asterisk.conf ASTERISK_RUN=/run/asterisk-node-$1
  shift
  "$@"
}

# asterisk.conf of node $1: its own directories where two Asterisks must not share (configuration,
# control socket and pid file, logs, spool, cache, AstDB with its registrations); Asterisk's built-in
# ones for the rest (modules, sounds, keys), as the sandbox's (Debian's [directories] is a template).
node_asterisk_conf() {
  local n=asterisk-node-$1
  printf '; node-%s of the cluster (scripts/cluster.sh)\n[directories]\n' "$1"
  printf 'astetcdir => /etc/%s\nastrundir => /run/%s\nastlogdir => /var/log/%s\n' "$n" "$n" "$n"
  printf 'astspooldir => /var/spool/%s\nastcachedir => /var/cache/%s\nastdbdir => /var/lib/%s\n' "$n" "$n" "$n"
  printf '[options]\n; its channels'"'"' uniqueids and linkedids start with it: unique across the nodes\nsystemname = node-%s\n' "$1"
}

# pjsip.conf of node $1: cluster/pjsip_node.conf, its phones, a trunk to every other node.
node_pjsip_conf() {
  local name=$1 address ext other
  address=$(node_address "$name")
  sed -e "s/@NODE@/node-$name/g" -e "s/@ADDRESS@/$address/g" -e "s/@PROXY@/$PROXY/g" "$repo/cluster/pjsip_node.conf"
  echo
  echo "; ---- written by scripts/cluster.sh from cluster/nodes ----"
  for ext in $(node_extensions "$name"); do
    printf '\n[%s](phone)\naors = %s\ncallerid = "Manager %s" <%s>\n[%s](phone-aor)\n' "$ext" "$ext" "$ext" "$ext" "$ext"
  done
  for other in $(node_names); do
    [ "$other" = "$name" ] && continue
    printf '\n[node-%s](node)\naors = node-%s\n[node-%s]\ntype = aor\ncontact = sip:%s:5060\n[node-%s]\ntype = identify\nendpoint = node-%s\nmatch = %s\n' \
      "$other" "$other" "$other" "$(node_address "$other")" "$other" "$other" "$(node_address "$other")"
  done
}

install_node_config() {
  local name=$1 etc="$ROOT/etc/asterisk-node-$1" address
  address=$(node_address "$name")
  base_config "$etc.new"
  node_asterisk_conf "$name" > "$etc.new/asterisk.conf"
  node_pjsip_conf "$name" > "$etc.new/pjsip.conf"
  rm -f "$etc.new/pjsip_bench.conf"
  # ARI on the node's address; no TLS (the browser phones register with the sandbox only).
  sed -i -e "s/^bindaddr *=.*/bindaddr = $address/" -e '/^tls/d' "$etc.new/http.conf"
  # The CRM speaks ARI; Debian's AMI would take the sandbox's 127.0.0.1:5038.
  printf '[general]\nenabled = no\n' > "$etc.new/manager.conf"
  rm -rf "$etc"
  mv "$etc.new" "$etc"
  mkdir -p "$ROOT/run/asterisk-node-$name" "$ROOT/var/log/asterisk-node-$name" "$ROOT/var/lib/asterisk-node-$name" \
    "$ROOT/var/spool/asterisk-node-$name/recording" "$ROOT/var/cache/asterisk-node-$name"
}

start_node() {
  local name=$1
  say "starting node $name ($(node_address "$name"))"
  chroot "$ROOT" /usr/sbin/asterisk -C "/etc/asterisk-node-$name/asterisk.conf" -n
}

# Configured, and started or reloaded (restarted when modules.conf or asterisk.conf changed: a reload
# loads no module and moves no directory).
node_up() {
  local name=$1 etc="$ROOT/etc/asterisk-node-$1" before after
  before=$( { cat "$etc/modules.conf" "$etc/asterisk.conf" 2>/dev/null || true; } | md5sum)
  install_node_config "$name"
  after=$(cat "$etc/modules.conf" "$etc/asterisk.conf" | md5sum)
  if with_node "$name" asterisk_pid >/dev/null && [ "$before" != "$after" ]; then
    say "node $name: modules.conf or asterisk.conf changed; restarting"
    with_node "$name" stop_asterisk
  fi
  if with_node "$name" asterisk_pid >/dev/null; then
    say "node $name is running; reloading configuration"
    with_node "$name" cli "core reload" >/dev/null
  else
    start_node "$name"
  fi
}

kamailio_pid() {
  local pid
  pid=$(cat "$KAMAILIO_RUN/kamailio.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = /usr/sbin/kamailio ] || return 1
  echo "$pid"
}

kamcmd_() { kamcmd -s "$KAMAILIO_CTL" "$@"; }

dispatcher_list() {
  local name
  for name in $(node_names); do
    echo "1 sip:$(node_address "$name"):5060 0 0 node=$name"
  done
}

# "ADDRESS FLAGS" a node: the proxy's view (flags A active, I inactive, P probing, T trying).
proxy_turn() {
  kamcmd_ dispatcher.list 2>/dev/null | awk '/URI:/ {uri = $2} /FLAGS:/ {sub(/^sip:/, "", uri); print uri, $2}'
}

proxy_has_every_node() {
  local turn name
  turn=$(proxy_turn) || return 1
  for name in $(node_names); do
    grep -q "^$(node_address "$name"):5060 A" <<< "$turn" || return 1
  done
}

kamailio_up() {
  command -v kamailio >/dev/null || die "kamailio is not installed (scripts/install-system-deps.sh)"
  mkdir -p "$KAMAILIO_RUN"
  dispatcher_list > "$KAMAILIO_RUN/dispatcher.list.new"
  mv "$KAMAILIO_RUN/dispatcher.list.new" "$KAMAILIO_RUN/dispatcher.list"
  if kamailio_pid >/dev/null && ! cmp -s "$KAMAILIO_CFG" "$KAMAILIO_RUN/kamailio.cfg"; then
    say "cluster/kamailio.cfg changed; restarting the proxy"
    stop_kamailio
  fi
  if kamailio_pid >/dev/null; then
    say "the proxy is running; reloading its node list"
    local i
    for i in 1 2 3; do
      # Refused within a second of the last reload (reload_delta): said in the output, not the exit code.
      ! kamcmd_ dispatcher.reload 2>&1 | grep -qi error && return 0
      sleep 1
    done
    die "the proxy did not reload its node list ($KAMAILIO_RUN/dispatcher.list)"
  fi
  kamailio -c -f "$KAMAILIO_CFG" >/dev/null 2>&1 || { kamailio -c -f "$KAMAILIO_CFG" >&2 || true; die "cluster/kamailio.cfg does not parse"; }
  cp "$KAMAILIO_CFG" "$KAMAILIO_RUN/kamailio.cfg"
  say "starting the proxy (Kamailio) on udp:$PROXY:5060; log $KAMAILIO_RUN/kamailio.log"
  # In the foreground of its own session (-DD), logging to stderr (-E): there may be no syslog.
  setsid kamailio -DD -E -f "$KAMAILIO_CFG" -P "$KAMAILIO_RUN/kamailio.pid" -Y "$KAMAILIO_RUN" -m 32 -M 8 \
    < /dev/null > "$KAMAILIO_RUN/kamailio.log" 2>&1 &
  local i
  for i in $(seq 1 50); do
    kamailio_pid >/dev/null && kamcmd_ core.uptime >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  tail -n 20 "$KAMAILIO_RUN/kamailio.log" >&2
  die "Kamailio did not start"
}

# Every process of the proxy: its main one and its children (they share its command line).
kamailio_pids() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/exe" 2>/dev/null)" = /usr/sbin/kamailio ] || continue
    tr '\0' ' ' < "$p/cmdline" 2>/dev/null | grep -qF -- "-f $KAMAILIO_CFG " && echo "${p#/proc/}"
  done
  return 0
}

stop_kamailio() {
  local pid pids
  pid=$(kamailio_pid) && kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do
    pids=$(kamailio_pids)
    [ -z "$pids" ] && break
    sleep 0.1
  done
  pids=$(kamailio_pids)
  # shellcheck disable=SC2086
  [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
  rm -f "$KAMAILIO_RUN/kamailio.pid" "$KAMAILIO_RUN/kamailio.cfg"
}

wait_for_proxy_turn() {
  local i
  for i in $(seq 1 50); do
    proxy_has_every_node && return 0
    sleep 0.2
  done
  say "the proxy has not every node in its turn after 10 s:"
  proxy_turn >&2 || true
  die "see $KAMAILIO_RUN/kamailio.log"
}

up() {
  need_root up
  command -v curl >/dev/null || die "curl is not installed"
  build
  install_missing_packages
  mount_all
  local name
  for name in $(node_names); do node_up "$name"; done
  kamailio_up
  for name in $(former_nodes); do
    with_node "$name" asterisk_pid >/dev/null || continue
    say "node $name is no longer in cluster/nodes; stopping it"
    with_node "$name" stop_asterisk
  done
  for name in $(node_names); do wait_for_ari "$(node_ari_url "$name")" "/var/log/asterisk-node-$name"; done
  wait_for_proxy_turn
  say "up: proxy udp:$PROXY:5060; nodes: $(for name in $(node_names); do
    printf '%s (PJSIP udp %s:5060, ARI %s) ' "$name" "$(node_address "$name")" "$(node_ari_url "$name")"; done)"
}

down() {
  need_root down
  local name
  # The proxy first: no new call is sent to a node on its way down.
  stop_kamailio
  for name in $(node_names); do with_node "$name" stop_asterisk; done
  for name in $(former_nodes); do with_node "$name" stop_asterisk; done
  say "down"
}

stop_node() {
  need_root stop-node
  known_node "${1:-}"
  with_node "$1" stop_asterisk
  say "node $1 stopped"
}

start_node_again() {
  need_root start-node
  known_node "${1:-}"
  mount_all
  [ -f "$ROOT/etc/asterisk-node-$1/asterisk.conf" ] || install_node_config "$1"
  with_node "$1" asterisk_pid >/dev/null || start_node "$1"
  wait_for_ari "$(node_ari_url "$1")" "/var/log/asterisk-node-$1"
  # Back in service means back in the proxy's turn: until its next answered OPTIONS the proxy still
  # sends every call to the other nodes (a test's round robin right after a restart saw 14 to 6).
  if kamailio_pid >/dev/null; then wait_for_proxy_turn; fi
}

status() {
  local rc=0 name pid url
  for name in $(node_names); do
    url=$(node_ari_url "$name")
    if pid=$(with_node "$name" asterisk_pid); then echo "node $name: running (pid $pid)"; else echo "node $name: stopped"; rc=1; fi
    if ari_answers "$url"; then echo "node $name: ari answers at $url"; else echo "node $name: ari no answer at $url"; rc=1; fi
  done
  if pid=$(kamailio_pid); then
    echo "proxy: running (pid $pid) on udp:$PROXY:5060"
    proxy_turn | sed 's/^/proxy: node /'
  else
    echo "proxy: stopped"; rc=1
  fi
  return $rc
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  cli) shift; need_root cli; known_node "${1:-}"; name=$1; shift; with_node "$name" cli "$@" ;;
  stop-node) stop_node "${2:-}" ;;
  start-node) start_node_again "${2:-}" ;;
  proxy-turn) kamailio_pid >/dev/null || die "the proxy is not running"; proxy_turn ;;
  *) echo "usage: $0 up|down|status|cli NODE COMMAND|stop-node NODE|start-node NODE|proxy-turn" >&2; exit 2 ;;
esac
