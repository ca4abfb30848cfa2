#!/usr/bin/env bash
# Installs the cityedge device registry as a systemd service (Debian bookworm) from a checkout:
#   sudo ./deploy/install-registry.sh
# then edit /etc/cityedge/registry.env (database, broker, public URLs) and
#   sudo systemctl restart cityedge-registry
# Also: --prefix DIR, --root DIR, --user NAME, --no-systemd (see deploy/lib/install-common.sh).
# Re-running upgrades in place and keeps /etc/cityedge/registry.env and /var/lib/cityedge-registry
# (the configuration-signing key and, without PostgreSQL, the database: back them up).
set -euo pipefail
PROG=install-registry
. "$(dirname "$0")/lib/install-common.sh"
SERVICE_USER=cityedge-registry

while [ $# -gt 0 ]; do
  common_option "$@"
  if [ "$USED" -gt 0 ]; then shift "$USED"; continue; fi
  usage_error "unknown option $1 (expected --prefix, --root, --user, --no-systemd)"
done
finish_options
check_node
ensure_build_tools

ensure_user "$SERVICE_USER" /var/lib/cityedge-registry
build_into_prefix
link_commands

ETC=$ROOT/etc/cityedge
DATA=$ROOT/var/lib/cityedge-registry
install -d -m 0755 "$ETC"
if [ ! -e "$ETC/registry.env" ]; then
  install -m 0640 -o root -g "$SERVICE_USER" "$PREFIX/deploy/config/registry.env.example" "$ETC/registry.env"
  echo "$PROG: wrote $ETC/registry.env from the example: set the public URLs (and PostgreSQL, Mosquitto) there"
fi
install_unit cityedge-registry.service "$SERVICE_USER"
install -d -m 0700 -o "$SERVICE_USER" -g "$SERVICE_USER" "$DATA"

if [ "$SYSTEMD" -eq 0 ]; then
  echo "$PROG: installed in $PREFIX (commands in $ROOT/usr/local/bin); systemd left alone"
  exit 0
fi
systemctl daemon-reload
systemctl enable cityedge-registry.service >/dev/null
systemctl restart cityedge-registry.service
echo "$PROG: started; the first start prints a bootstrap admin token once: journalctl -u cityedge-registry | grep -A2 Bootstrap"
