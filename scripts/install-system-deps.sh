#!/usr/bin/env bash
# Installs the Debian packages pbxcrm needs on the host: PostgreSQL for the
# private cluster, debootstrap for the Asterisk sandbox, sipp for real SIP
# calls, Chromium for browser tests, ffmpeg for mp3, npm for the browser phone's
# SIP library (scripts/vendor-js.sh), Net::SMPP for the SMSC the SMS tests and the demo send to
# (tests/smsc.pl), Dovecot for the IMAP mailbox the e-mail tests and the demo read (tests/dovecot.py), Kamailio for the
# SIP proxy in front of the cluster's Asterisk nodes (scripts/cluster.sh). Idempotent: packages
# already present are not touched, and apt is not called at all then.
set -euo pipefail

# systemd: `systemd-analyze verify` checks deploy/systemd/ (tests/test_deploy.py); Debian hosts have it already.
packages=(curl postgresql postgresql-contrib debootstrap sip-tester chromium ffmpeg python3-venv systemd
          libnet-smpp-perl dovecot-imapd kamailio)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm: Debian's package only when no npm is there. NodeSource's nodejs brings its own npm and
# conflicts with Debian's (apt would refuse the whole install).
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "pbxcrm: these Debian packages are missing: ${missing[*]}" >&2
  echo "pbxcrm: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "pbxcrm: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's Kamailio service (its sample configuration, on every address's port 5060, the sandbox's too) is
# not ours: scripts/cluster.sh runs the project's proxy itself.
if [[ " ${missing[*]} " == *" kamailio "* ]] && [ -d /run/systemd/system ]; then
  systemctl disable --now kamailio >/dev/null 2>&1 || true
fi
