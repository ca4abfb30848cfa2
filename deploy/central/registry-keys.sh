#!/usr/bin/env bash
# Backs up and restores the registry's keys: config-signing-key.pem (gateways trust configurations
# signed with it: lose it and every enrolled gateway must be enrolled again), secrets.key (seals
# the camera passwords stored in the database) and, in Mosquitto mode, mqtt-service.secret.
# The database is backed up on its own (pg_dump, or a copy of registry.db taken while stopped).
#
#   registry-keys.sh backup  DATA_DIR ARCHIVE   # ARCHIVE "-": a tar on stdout
#   registry-keys.sh restore ARCHIVE DATA_DIR   # ARCHIVE "-": a tar on stdin; before the first start
#
# restore refuses to replace a different signing key already in DATA_DIR (a registry that started
# without the backup made its own): move that one away first if replacing it is what you want.
# Keep the archive like a password: encrypted, offline, and not on the registry host.
set -euo pipefail

KEYS=(config-signing-key.pem secrets.key)
OPTIONAL=(mqtt-service.secret)
die() { echo "registry-keys: $*" >&2; exit "${2:-1}"; }
usage() { sed -n '7,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

[ $# -eq 3 ] || usage
case "$1" in
  backup)
    data="$2"; archive="$3"
    for k in "${KEYS[@]}"; do [ -f "$data/$k" ] || die "$data/$k: not found (is $data the registry's data directory?)"; done
    files=("${KEYS[@]}")
    for k in "${OPTIONAL[@]}"; do [ -f "$data/$k" ] && files+=("$k"); done
    if [ "$archive" = "-" ]; then
      tar -C "$data" -cf - "${files[@]}"
    else
      (umask 077 && tar -C "$data" -cf "$archive" "${files[@]}")
      echo "registry-keys: ${files[*]} -> $archive" >&2
    fi
    ;;
  restore)
    archive="$2"; data="$3"
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    if [ "$archive" = "-" ]; then tar -C "$tmp" -xf -; else tar -C "$tmp" -xf "$archive"; fi
    for k in "${KEYS[@]}"; do [ -f "$tmp/$k" ] || die "$archive: has no $k; not a registry-keys backup" 2; done
    mkdir -p "$data"
    chmod 0700 "$data"
    if [ -f "$data/config-signing-key.pem" ] && ! cmp -s "$data/config-signing-key.pem" "$tmp/config-signing-key.pem"; then
      die "$data/config-signing-key.pem: a different signing key is already there; move it away to restore this one"
    fi
    for k in "${KEYS[@]}" "${OPTIONAL[@]}"; do
      [ -f "$tmp/$k" ] && install -m 0600 "$tmp/$k" "$data/$k"
    done
    echo "registry-keys: restored into $data" >&2
    ;;
  *) usage ;;
esac
