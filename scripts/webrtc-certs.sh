#!/usr/bin/env bash
# Certificates for Asterisk's HTTPS/WSS server (http.conf tls*), which the browser phone
# (issue 19) registers through: a private CA and a server certificate it signs.
#
#   scripts/webrtc-certs.sh DIR [NAME...]
#
# DIR gets ca.crt + ca.key (kept: later runs reuse the CA, so browsers that trust it keep
# trusting) and asterisk.crt + asterisk.key for the NAMEs (DNS names or IP addresses; default
# 127.0.0.1 and localhost), made again only when missing or when the names change. The sandbox
# (scripts/sandbox.sh) keeps DIR inside its root. In production use a certificate of a CA the
# browsers trust already (e.g. Let's Encrypt for the PBX's name), or make one here and install
# DIR/ca.crt in the browsers (README.md, "Browser phone").
set -euo pipefail
dir=${1:?usage: $0 DIR [NAME...]}; shift
names=("$@"); [ ${#names[@]} -gt 0 ] || names=(127.0.0.1 localhost)
command -v openssl >/dev/null || { echo "webrtc-certs: openssl is not installed" >&2; exit 1; }
mkdir -p "$dir"; chmod 700 "$dir"
cd "$dir"
if [ ! -f ca.key ] || [ ! -f ca.crt ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=pbxcrm browser phone CA" \
    -keyout ca.key -out ca.crt -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi
san=""
for n in "${names[@]}"; do
  if [[ $n =~ ^[0-9.]+$ || $n == *:* ]]; then san+="IP:$n,"; else san+="DNS:$n,"; fi
done
san=${san%,}
if [ -f asterisk.crt ] && [ -f asterisk.key ] && [ "$(cat asterisk.san 2>/dev/null)" = "$san" ] \
    && openssl verify -CAfile ca.crt asterisk.crt >/dev/null 2>&1; then
  exit 0
fi
openssl req -newkey rsa:2048 -nodes -subj "/CN=${names[0]}" -keyout asterisk.key -out asterisk.csr 2>/dev/null
printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' \
  "$san" > asterisk.ext
openssl x509 -req -in asterisk.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -sha256 \
  -extfile asterisk.ext -out asterisk.crt 2>/dev/null
rm -f asterisk.csr asterisk.ext
echo "$san" > asterisk.san
chmod 600 ca.key asterisk.key
echo "webrtc-certs: $dir/asterisk.crt for $san, signed by $dir/ca.crt" >&2
