#!/usr/bin/env bash
# Installs the cityedge agent as a systemd service on Raspberry Pi OS (Debian bookworm, arm64)
# from a checkout of this repository:
#   sudo ./deploy/install-agent.sh                                        # local configuration file
#   sudo ./deploy/install-agent.sh --enroll 'https://<registry>/enroll#code=<code>'
#   sudo ./deploy/install-agent.sh --registry URL --code CODE             # the same, in two parts
# Also: --prefix DIR, --root DIR, --user NAME, --no-systemd (see deploy/lib/install-common.sh).
# Re-running upgrades in place and keeps /etc/cityedge and /var/lib/cityedge.
set -euo pipefail
PROG=install-agent
. "$(dirname "$0")/lib/install-common.sh"
SERVICE_USER=cityedge

LINK=""
REGISTRY=""
CODE=""
while [ $# -gt 0 ]; do
  common_option "$@"
  if [ "$USED" -gt 0 ]; then shift "$USED"; continue; fi
  case "$1" in
    --enroll) LINK=${2:?--enroll needs the enrollment link}; shift 2 ;;
    --registry) REGISTRY=${2:?--registry needs a URL}; shift 2 ;;
    --code) CODE=${2:?--code needs the enrollment code}; shift 2 ;;
    *) usage_error "unknown option $1 (expected --enroll LINK, or --registry URL --code CODE; --prefix, --root, --user, --no-systemd)" ;;
  esac
done
if { [ -n "$REGISTRY" ] && [ -z "$CODE" ]; } || { [ -z "$REGISTRY" ] && [ -n "$CODE" ]; }; then
  usage_error "--registry and --code go together"
fi
[ -z "$LINK" ] || [ -z "$REGISTRY" ] || usage_error "give --enroll LINK or --registry and --code, not both"
finish_options
check_node
ensure_build_tools

ensure_user "$SERVICE_USER" /var/lib/cityedge dialout
build_into_prefix
link_commands

ETC=$ROOT/etc/cityedge
STATE=$ROOT/var/lib/cityedge
install -d -m 0750 -o root -g "$SERVICE_USER" "$ETC" "$ETC/profiles"
# The example's site profiles (profileDirs: [profiles]); a site's own edits are kept.
for f in "$PREFIX"/deploy/config/profiles/*; do
  [ -e "$ETC/profiles/$(basename "$f")" ] || install -m 0640 -o root -g "$SERVICE_USER" "$f" "$ETC/profiles/"
done
if [ ! -e "$ETC/agent.yaml" ]; then
  install -m 0640 -o root -g "$SERVICE_USER" "$PREFIX/deploy/config/agent.example.yaml" "$ETC/agent.yaml"
  echo "$PROG: wrote $ETC/agent.yaml from the example: it runs as is (polls and buffers); edit it for this site and add the broker password (see the file), or enroll the gateway"
fi
install_unit cityedge-agent.service "$SERVICE_USER"
install -d -m 0700 -o "$SERVICE_USER" -g "$SERVICE_USER" "$STATE"

AGENT="$PREFIX/dist/cityedge-agent.js"
if [ -n "$LINK" ]; then
  as_user "$SERVICE_USER" node "$AGENT" enroll "$LINK" --state-dir "$STATE"
elif [ -n "$CODE" ]; then
  as_user "$SERVICE_USER" node "$AGENT" enroll --registry "$REGISTRY" --code "$CODE" --state-dir "$STATE"
fi

if [ "$SYSTEMD" -eq 0 ]; then
  echo "$PROG: installed in $PREFIX (commands in $ROOT/usr/local/bin); systemd left alone"
  exit 0
fi
systemctl daemon-reload
systemctl enable cityedge-agent.service >/dev/null
if [ -e "$STATE/identity.json" ] || as_user "$SERVICE_USER" node "$AGENT" check-config --config "$ETC/agent.yaml" --state-dir "$STATE"; then
  systemctl restart cityedge-agent.service
  echo "$PROG: started; follow it with: journalctl -fu cityedge-agent"
else
  echo "$PROG: fix the configuration above (or enroll: sudo -u $SERVICE_USER cityedge-agent enroll LINK), then: systemctl start cityedge-agent"
fi
