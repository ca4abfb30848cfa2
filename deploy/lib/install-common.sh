# Shared by deploy/install-agent.sh and deploy/install-registry.sh (sourced, not run).
# Options both installers take:
#   --prefix DIR     where the programs are built and installed        [/opt/cityedge]
#   --root DIR       root for system files (/etc, /var/lib, units, /usr/local/bin)   [/]
#   --user NAME      the service's system user (created when missing)
#   --no-systemd     install the unit file but do not call systemctl (images, tests, chroots)
# Re-running upgrades in place and keeps configuration, secrets and state.

PREFIX=/opt/cityedge
ROOT=/
SYSTEMD=1
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

die() { echo "$PROG: $*" >&2; exit 1; }
usage_error() { echo "$PROG: $*" >&2; exit 2; }

# Takes one common option from "$@"; sets USED to how many arguments it took (0: not a common one).
common_option() {
  USED=0
  case "$1" in
    --prefix) [ -n "${2:-}" ] || usage_error "--prefix needs a directory"; PREFIX=$2; USED=2 ;;
    --root) [ -n "${2:-}" ] || usage_error "--root needs a directory"; ROOT=$2; USED=2 ;;
    --user) [ -n "${2:-}" ] || usage_error "--user needs a name"; SERVICE_USER=$2; USED=2 ;;
    --no-systemd) SYSTEMD=0; USED=1 ;;
  esac
}

# Absolute paths, the root without its trailing slash ("" for /).
finish_options() {
  case "$PREFIX" in /*) ;; *) usage_error "--prefix: expected an absolute path, got $PREFIX" ;; esac
  case "$ROOT" in /*) ;; *) usage_error "--root: expected an absolute path, got $ROOT" ;; esac
  ROOT=${ROOT%/}
  [ "$(id -u)" -eq 0 ] || die "run as root (sudo $0)"
  if [ "$SYSTEMD" -eq 1 ] && ! command -v systemctl >/dev/null; then
    die "systemd is required (or pass --no-systemd to install the files only)"
  fi
}

check_node() {
  command -v node >/dev/null || die "Node.js 20.19+ is required: apt-get install nodejs npm"
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
    || die "Node.js $(node --version) is too old: 20.19 or later is required"
  # The units run /usr/bin/node.
  if [ "$ROOT" = "" ] && [ ! -e /usr/bin/node ]; then ln -sf "$(command -v node)" /usr/bin/node; fi
}

# Native modules (better-sqlite3, serialport) compile from source: about 5 minutes on a Pi 4.
ensure_build_tools() {
  local missing=()
  command -v make >/dev/null || missing+=(build-essential)
  command -v g++ >/dev/null || missing+=(build-essential)
  command -v python3 >/dev/null || missing+=(python3)
  command -v rsync >/dev/null || missing+=(rsync)
  if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

ensure_user() {
  local user=$1 home=$2 groups=${3:-}
  id "$user" >/dev/null 2>&1 || useradd --system --home-dir "$home" --no-create-home --shell /usr/sbin/nologin --user-group "$user"
  if [ -n "$groups" ]; then usermod -a -G "$groups" "$user"; fi
}

# Builds the repository into $PREFIX with the committed lock file (npm ci), unless that exact
# source was built there already (the agent and the registry on one machine share one build).
build_into_prefix() {
  local stamp
  stamp=$(cd "$SRC" && find . -path ./node_modules -prune -o -path ./.git -prune -o -path ./dist -prune -o -path ./.demo -prune -o -path './tests/.build' -prune -o -type f -print0 \
    | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
  if [ -f "$PREFIX/.build-stamp" ] && [ "$(cat "$PREFIX/.build-stamp")" = "$stamp" ] && [ -f "$PREFIX/dist/cityedge-agent.js" ]; then
    echo "$PROG: $PREFIX already holds this build"
    return
  fi
  echo "$PROG: building in $PREFIX"
  install -d -m 0755 "$PREFIX"
  rsync -a --delete --exclude node_modules --exclude .git --exclude dist --exclude .demo --exclude tests/.build "$SRC"/ "$PREFIX"/
  (cd "$PREFIX" && npm ci --no-audit --no-fund && npm run build && npm prune --omit=dev --no-audit --no-fund)
  echo "$stamp" > "$PREFIX/.build-stamp"
}

# The package's commands (package.json "bin") on PATH: cityedge-agent, cityedge-registry, edgectl, cityedge-sim.
link_commands() {
  install -d -m 0755 "$ROOT/usr/local/bin"
  local name target
  while IFS=' ' read -r name target; do
    [ -f "$PREFIX/$target" ] || die "$PREFIX/$target is missing: the build did not produce $name"
    chmod 0755 "$PREFIX/$target"
    ln -sfn "$PREFIX/$target" "$ROOT/usr/local/bin/$name"
  done < <(node -e 'for (const [n, t] of Object.entries(require(process.argv[1]).bin)) console.log(n, t)' "$PREFIX/package.json")
}

# A unit file with the install prefix in place of /opt/cityedge and the service user.
install_unit() {
  local name=$1 user=$2
  install -d -m 0755 "$ROOT/etc/systemd/system"
  sed -e "s#/opt/cityedge#$PREFIX#g" -e "s/^User=.*/User=$user/" -e "s/^Group=.*/Group=$user/" \
    "$PREFIX/deploy/systemd/$name" > "$ROOT/etc/systemd/system/$name"
  chmod 0644 "$ROOT/etc/systemd/system/$name"
}

# Runs a command as the service user (runuser is in util-linux: no sudo needed).
as_user() { local user=$1; shift; runuser -u "$user" -- "$@"; }
