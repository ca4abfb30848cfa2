#!/usr/bin/env bash
# Makes the TLS certificate gateways see on the broker's mqtts:// listener: a private CA (made
# once, kept) and a server certificate signed by it for the names gateways connect to.
#
#   deploy/central/make-broker-cert.sh [-d DIR] [-o UID:GID] NAME [NAME|IP]...
#     NAME      the broker's public DNS name (the host of GATEWAY_BROKER_URL); more names and IP
#               addresses may follow. All go into subjectAltName (gateways check it).
#     -d DIR    where to write (default: deploy/central/certs, which the compose file mounts)
#     -o U:G    chown the server key to this owner (Mosquitto's image runs as 1883:1883)
#
# Writes ca.key (0600, keep it off the broker host once done) and ca.crt (give it to gateways),
# broker.key (0640) and broker.crt (the CA appended, so clients get the chain). Run again to renew
# the server certificate (825 days) with the same CA; gateways that trust ca.crt keep trusting it.
set -euo pipefail

dir="$(cd "$(dirname "$0")" && pwd)/certs"
owner=""
usage() { sed -n '5,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while getopts "d:o:h" opt; do
  case "$opt" in
    d) dir="$OPTARG" ;;
    o) owner="$OPTARG" ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "make-broker-cert: missing NAME (the broker's public DNS name)" >&2; usage; }
command -v openssl >/dev/null || { echo "make-broker-cert: openssl not found (apt-get install openssl)" >&2; exit 1; }

san=""
for name in "$@"; do
  if [[ "$name" =~ ^[0-9]+(\.[0-9]+){3}$ || "$name" == *:* ]]; then
    san+="${san:+,}IP:$name"
  elif [[ "$name" =~ ^[A-Za-z0-9*]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]]; then
    san+="${san:+,}DNS:$name"
  else
    echo "make-broker-cert: \"$name\" is neither a DNS name nor an IP address" >&2
    exit 2
  fi
done

mkdir -p "$dir"
umask 077
if [ ! -f "$dir/ca.key" ] || [ ! -f "$dir/ca.crt" ]; then
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 3650 \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" -subj "/O=cityedge/CN=cityedge broker CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  echo "make-broker-cert: created the CA in $dir (ca.key: keep it safe and off the broker host)"
else
  echo "make-broker-cert: reusing the CA in $dir"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
  -keyout "$tmp/broker.key" -out "$tmp/broker.csr" -subj "/O=cityedge/CN=$1" 2>/dev/null
printf '%s\n' "subjectAltName=$san" "basicConstraints=critical,CA:FALSE" \
  "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" > "$tmp/ext.cnf"
openssl x509 -req -in "$tmp/broker.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
  -days 825 -sha256 -extfile "$tmp/ext.cnf" -out "$tmp/broker.crt" 2>/dev/null
cat "$dir/ca.crt" >> "$tmp/broker.crt"
install -m 0640 "$tmp/broker.key" "$dir/broker.key"
install -m 0644 "$tmp/broker.crt" "$dir/broker.crt"
chmod 0644 "$dir/ca.crt"
[ -z "$owner" ] || chown "$owner" "$dir/broker.key"
echo "make-broker-cert: $dir/broker.crt for $san, valid until $(openssl x509 -in "$dir/broker.crt" -noout -enddate | cut -d= -f2)"
