#!/usr/bin/env bash
# Installs the cityedge agent as a systemd service on Raspberry Pi OS (Debian bookworm, arm64)
# from a checkout of this repository:
#   sudo ./deploy/install-agent.sh                                   # local configuration file
#   sudo ./deploy/install-agent.sh --registry URL --code CODE        # enroll with the registry
# Re-running upgrades in place and keeps /etc/cityedge and /var/lib/cityedge.
set -euo pipefail

REGISTRY=""
CODE=""
while [ $# -gt 0 ]; do
  case "$1" in
    --registry) REGISTRY=${2:?--registry needs a URL}; shift 2 ;;
    --code) CODE=${2:?--code needs the enrollment code}; shift 2 ;;
    *) echo "install-agent: unknown option $1 (expected --registry URL --code CODE)" >&2; exit 2 ;;
  esac
done
if { [ -n "$REGISTRY" ] && [ -z "$CODE" ]; } || { [ -z "$REGISTRY" ] && [ -n "$CODE" ]; }; then
  echo "install-agent: --registry and --code go together" >&2; exit 2
fi

PREFIX=${PREFIX:-/opt/cityedge}
SRC=$(cd "$(dirname "$0")/.." && pwd)
UNIT=/etc/systemd/system/cityedge-agent.service

die() { echo "install-agent: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root (sudo $0)"
command -v systemctl >/dev/null || die "systemd is required"

# Node.js 20.19 or later (Debian's nodejs, NodeSource, or a tarball in /usr/local).
command -v node >/dev/null || die "Node.js 20.19+ is required: apt-get install nodejs npm"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || die "Node.js $(node --version) is too old: 20.19 or later is required"
[ "$(readlink -f "$(command -v node)")" = /usr/bin/node ] || [ -e /usr/bin/node ] \
  || ln -sf "$(command -v node)" /usr/bin/node

# Native modules (better-sqlite3, serialport) compile from source: about 5 minutes on a Pi 4.
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq build-essential python3 rsync >/dev/null

id cityedge >/dev/null 2>&1 || useradd --system --home-dir /var/lib/cityedge --no-create-home \
  --shell /usr/sbin/nologin --user-group cityedge
usermod -a -G dialout cityedge

echo "install-agent: building in $PREFIX"
install -d -m 0755 "$PREFIX"
rsync -a --delete --exclude node_modules --exclude .git --exclude dist --exclude .demo "$SRC"/ "$PREFIX"/
cd "$PREFIX"
npm ci --no-audit --no-fund
npm run build
npm prune --omit=dev --no-audit --no-fund

install -d -m 0750 -o root -g cityedge /etc/cityedge /etc/cityedge/profiles
if [ ! -e /etc/cityedge/agent.yaml ]; then
  install -m 0640 -o root -g cityedge "$PREFIX/deploy/config/agent.example.yaml" /etc/cityedge/agent.yaml
  # The example names a site profile from profiles/: install it too, or the example would not validate.
  for f in "$PREFIX"/deploy/config/profiles/*.yaml; do
    [ -e "/etc/cityedge/profiles/$(basename "$f")" ] || install -m 0640 -o root -g cityedge "$f" /etc/cityedge/profiles/
  done
  echo "install-agent: wrote /etc/cityedge/agent.yaml from the example: it runs as is (polls and buffers); edit it for this site and add the broker password (see the file)"
fi
install -m 0644 "$PREFIX/deploy/systemd/cityedge-agent.service" "$UNIT"
install -d -m 0700 -o cityedge -g cityedge /var/lib/cityedge
if [ -n "$CODE" ]; then
  sudo -u cityedge node "$PREFIX/dist/cityedge-agent.js" enroll --registry "$REGISTRY" --code "$CODE" --state-dir /var/lib/cityedge
fi
systemctl daemon-reload
systemctl enable cityedge-agent.service >/dev/null

if [ -e /var/lib/cityedge/identity.json ] || sudo -u cityedge node "$PREFIX/dist/cityedge-agent.js" check-config --config /etc/cityedge/agent.yaml; then
  systemctl restart cityedge-agent.service
  echo "install-agent: started; follow it with: journalctl -fu cityedge-agent"
else
  echo "install-agent: fix the configuration above, then: systemctl start cityedge-agent"
fi
