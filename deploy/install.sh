#!/bin/sh
# Installs a built campus-edge-gateway (after `npm ci && npm run build`) as a systemd service.
#
#   sudo deploy/install.sh [--prefix /opt/campus-gateway] [--root DIR] [--no-prune]
#
# --prefix  where the release goes (default /opt/campus-gateway)
# --root    a staged install: everything goes under DIR (an image, a package build); nothing on this host is
#           changed and systemctl is not called, the unit is enabled by its multi-user.target.wants symlink.
# --no-prune keep devDependencies in the installed node_modules (by default `npm prune --omit=dev` runs there).
#
# Run again to upgrade: the release is replaced; gateway.yaml and secrets.env are never overwritten.
set -eu

PREFIX=/opt/campus-gateway
ROOT=
PRUNE=yes
USER_NAME=campus-gateway

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX=${2:?--prefix needs a directory}; shift 2 ;;
    --prefix=*) PREFIX=${1#--prefix=}; shift ;;
    --root) ROOT=${2:?--root needs a directory}; shift 2 ;;
    --root=*) ROOT=${1#--root=}; shift ;;
    --no-prune) PRUNE=no; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
case "$PREFIX" in /*) ;; *) echo "install.sh: --prefix must be an absolute path" >&2; exit 2 ;; esac
if [ -n "$ROOT" ]; then
  mkdir -p "$ROOT"
  ROOT=$(cd "$ROOT" && pwd)
fi

SRC=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -f "$SRC/dist/gateway/cli/main.js" ] || [ ! -d "$SRC/node_modules" ]; then
  echo "install.sh: $SRC has no built release: run \`npm ci && npm run build\` first" >&2
  exit 1
fi
if [ -z "$ROOT" ] && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (sudo), or stage with --root DIR" >&2
  exit 1
fi
NODE=$(command -v node || true)
if [ -z "$NODE" ]; then
  echo "install.sh: node is not on PATH; install Node.js 20.17 or later first (README, \"As a service\")" >&2
  exit 1
fi
# Debian 12 and Raspberry Pi OS bookworm ship Node.js 18, which builds but cannot run the gateway.
NODE_VERSION=$("$NODE" -p 'process.versions.node' 2>/dev/null || true)
NODE_MAJOR=$(echo "$NODE_VERSION" | cut -d. -f1)
NODE_MINOR=$(echo "$NODE_VERSION" | cut -d. -f2)
case "$NODE_MAJOR.$NODE_MINOR" in
  [0-9]*.[0-9]*) ;;
  *) NODE_MAJOR=0; NODE_MINOR=0 ;;
esac
if [ "$NODE_MAJOR" -lt 20 ] || { [ "$NODE_MAJOR" -eq 20 ] && [ "$NODE_MINOR" -lt 17 ]; }; then
  echo "install.sh: $NODE is Node.js ${NODE_VERSION:-of no known version}; the gateway needs 20.17 or later (README, \"As a service\")" >&2
  exit 1
fi

CONF_DIR=/etc/campus-gateway
STATE_DIR=/var/lib/campus-gateway
UNIT_DIR=/etc/systemd/system
step() { printf '==> %s\n' "$*"; }
UPGRADE=no
[ -e "$ROOT$PREFIX/dist/gateway/cli/main.js" ] && UPGRADE=yes
# A running gateway is stopped before its release is swapped (its code loads lazily) and started again at the end.
WAS_RUNNING=no
if [ -z "$ROOT" ] && systemctl is-active --quiet campus-gateway.service 2>/dev/null; then
  WAS_RUNNING=yes
fi
# Whatever fails after the stop, the gates do not stay down: the gateway is started again with what is in place.
STARTED=no
restart_on_exit() {
  if [ "$WAS_RUNNING" = yes ] && [ "$STARTED" = no ]; then
    echo "install.sh: failed midway; starting campus-gateway again with the release in $PREFIX" >&2
    [ -e "$PREFIX" ] || { [ -e "$PREFIX.old" ] && mv "$PREFIX.old" "$PREFIX"; }
    systemctl start campus-gateway.service || true
  fi
}
trap restart_on_exit EXIT

# 1. The release: into a fresh directory beside the old one, then swapped in, so a failed copy leaves the old one.
step "installing the release into $ROOT$PREFIX"
mkdir -p "$(dirname "$ROOT$PREFIX")"
NEW="$ROOT$PREFIX.new.$$"
rm -rf "$NEW"
mkdir -p "$NEW"
cp -a "$SRC/dist" "$SRC/node_modules" "$SRC/package.json" "$NEW/"
[ -f "$SRC/package-lock.json" ] && cp -a "$SRC/package-lock.json" "$NEW/"
mkdir -p "$NEW/deploy" "$NEW/docs"
cp -a "$SRC/deploy/." "$NEW/deploy/"
mkdir -p "$NEW/config"
cp -a "$SRC/config/gateway.example.yaml" "$NEW/config/"
# Node-RED's campus palette and its examples, which are also the flows a new school is seeded with (gateway/node-red/files.ts).
cp -a "$SRC/flows" "$NEW/"
cp -a "$SRC/README.md" "$NEW/" 2>/dev/null || true
cp -a "$SRC/docs/." "$NEW/docs/" 2>/dev/null || true
if [ "$PRUNE" = yes ] && command -v npm >/dev/null 2>&1; then
  step "removing development-only packages (npm prune --omit=dev)"
  (cd "$NEW" && npm prune --omit=dev --offline --no-audit --no-fund >/dev/null 2>&1) ||
    echo "    npm prune failed; the development packages stay (harmless, only disk space)"
fi
mkdir -p "$NEW/bin"
cat > "$NEW/bin/campus-gateway" <<WRAP
#!/bin/sh
# The campus-gateway command with the service's config and data directory (override with CAMPUS_CONFIG /
# CAMPUS_DATA_DIR). Run it as the service user so files it creates stay readable by the service:
#   sudo -u $USER_NAME campus-gateway user add admin --role admin
: "\${CAMPUS_CONFIG:=$CONF_DIR/gateway.yaml}"
: "\${CAMPUS_DATA_DIR:=$STATE_DIR}"
: "\${NODE_OPTIONS:=--max-old-space-size=256 --max-semi-space-size=4}"
: "\${MALLOC_MMAP_THRESHOLD_:=131072}"
export CAMPUS_CONFIG CAMPUS_DATA_DIR NODE_OPTIONS MALLOC_MMAP_THRESHOLD_
# The secrets, when this user may read them (root, or the service user through the file's group).
if [ -r "$CONF_DIR/secrets.env" ]; then set -a; . "$CONF_DIR/secrets.env"; set +a; fi
# Found from this script's own place (through the /usr/local/bin link), so a staged tree runs where it is.
HERE=\$(dirname "\$(readlink -f "\$0")")
exec "$NODE" "\$HERE/../dist/gateway/cli/main.js" "\$@"
WRAP
chmod 0755 "$NEW/bin/campus-gateway"
if [ "$WAS_RUNNING" = yes ]; then
  step "stopping campus-gateway for the swap (it commits what is queued)"
  systemctl stop campus-gateway.service
fi
if [ -e "$ROOT$PREFIX" ]; then rm -rf "$ROOT$PREFIX.old"; mv "$ROOT$PREFIX" "$ROOT$PREFIX.old"; fi
mv "$NEW" "$ROOT$PREFIX"
rm -rf "$ROOT$PREFIX.old"
mkdir -p "$ROOT/usr/local/bin"
ln -sfn "$PREFIX/bin/campus-gateway" "$ROOT/usr/local/bin/campus-gateway"

# 2. The service user (systemd-sysusers, which also works on a staged root), and its directories.
step "creating the system user $USER_NAME"
mkdir -p "$ROOT/usr/lib/sysusers.d"
install -m 0644 "$SRC/deploy/campus-gateway.sysusers" "$ROOT/usr/lib/sysusers.d/campus-gateway.conf"
if command -v systemd-sysusers >/dev/null 2>&1; then
  if [ -n "$ROOT" ]; then
    mkdir -p "$ROOT/etc"
    systemd-sysusers --root="$ROOT" campus-gateway.conf
  else
    systemd-sysusers campus-gateway.conf
  fi
elif [ -z "$ROOT" ] && ! id "$USER_NAME" >/dev/null 2>&1; then
  useradd --system --home-dir "$STATE_DIR" --shell /usr/sbin/nologin "$USER_NAME"
fi
# Owner by name when the (staged) system knows it; a staged root without one keeps root and systemd's
# StateDirectory= fixes the owner at first start.
owner() {
  if [ -n "$ROOT" ]; then
    chown "$(awk -F: -v u="$USER_NAME" '$1==u{print $3":"$4}' "$ROOT/etc/passwd" 2>/dev/null || echo 0:0)" "$@" 2>/dev/null || true
  else
    chown "$USER_NAME:$USER_NAME" "$@"
  fi
}
# The config and the secrets get the service's group by name on this host only: a staged root's gid need not be the
# target's (the stage's 999 was systemd-journal on the build host), so there they stay root's, 0600, and
# systemd-tmpfiles gives them the group by name at the target's boot (deploy/campus-gateway.tmpfiles).
for_service_group() {
  if [ -n "$ROOT" ]; then
    chmod 0600 "$@"
  else
    chgrp "$USER_NAME" "$@"
    chmod 0640 "$@"
  fi
}
mkdir -p "$ROOT$STATE_DIR" "$ROOT$CONF_DIR"
chmod 0700 "$ROOT$STATE_DIR"
owner "$ROOT$STATE_DIR"
chmod 0755 "$ROOT$CONF_DIR"

# 3. The config, only when there is none: an upgrade never overwrites what the school wrote.
if [ -e "$ROOT$CONF_DIR/gateway.yaml" ]; then
  step "keeping $CONF_DIR/gateway.yaml"
else
  step "writing $CONF_DIR/gateway.yaml from config/gateway.example.yaml"
  # Its `$schema` line points at the installed JSON Schema, for editors (the relative path only holds in the source tree).
  sed -e "1s#^\(\# yaml-language-server: \$schema=\).*#\1$PREFIX/docs/config.schema.json#" "$SRC/config/gateway.example.yaml" > "$ROOT$CONF_DIR/gateway.yaml.new"
  install -m 0600 "$ROOT$CONF_DIR/gateway.yaml.new" "$ROOT$CONF_DIR/gateway.yaml"
  rm -f "$ROOT$CONF_DIR/gateway.yaml.new"
  for_service_group "$ROOT$CONF_DIR/gateway.yaml"
fi

# 4. The secrets: generated once; root's, readable by the service's group (0640), so that the campus-gateway command
# run as the service user has the keys the service has (systemd itself reads the EnvironmentFile as root).
SECRETS="$ROOT$CONF_DIR/secrets.env"
if [ -e "$SECRETS" ]; then
  step "keeping $CONF_DIR/secrets.env"
else
  if [ -n "$ROOT" ]; then
    step "generating $CONF_DIR/secrets.env (mode 0600, root's; group $USER_NAME and 0640 at the target's boot)"
  else
    step "generating $CONF_DIR/secrets.env (mode 0640, group $USER_NAME)"
  fi
  gen() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }
  old_umask=$(umask)
  umask 077
  {
    echo "# campus-edge-gateway secrets, generated by install.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ)."
    echo "# BACK THIS FILE UP apart from the data backups: without these keys a restored gateway cannot decrypt"
    echo "# Node-RED's flow credentials or the camera passwords. Never put it in the data backup folder."
    echo "CAMPUS_FLOW_SECRET=$(gen)"
    echo "CAMPUS_CAMERA_KEY=$(gen)"
    echo "# The key sealing guardians' phone numbers (else CAMPUS_CAMERA_KEY seals them): docs/guardians.md."
    echo "# CAMPUS_NOTIFY_KEY="
    echo "# The city upstream's address, when it is not in gateway.yaml (its credentials: docs/cloud-sync.md):"
    echo "# CAMPUS_UPSTREAM_URL=https://city.example/edge"
  } > "$SECRETS"
  umask "$old_umask"
fi
# Its group and mode, also on an upgrade from a release that made it root-only.
for_service_group "$SECRETS"
mkdir -p "$ROOT/usr/lib/tmpfiles.d"
install -m 0644 "$SRC/deploy/campus-gateway.tmpfiles" "$ROOT/usr/lib/tmpfiles.d/campus-gateway.conf"

# 5. The unit, with this prefix and this node, enabled.
step "installing $UNIT_DIR/campus-gateway.service"
mkdir -p "$ROOT$UNIT_DIR/multi-user.target.wants"
sed -e "s#/opt/campus-gateway#$PREFIX#g" -e "s#/usr/bin/node#$NODE#g" "$SRC/deploy/campus-gateway.service" > "$ROOT$UNIT_DIR/campus-gateway.service"
chmod 0644 "$ROOT$UNIT_DIR/campus-gateway.service"
if [ -n "$ROOT" ]; then
  ln -sfn "$UNIT_DIR/campus-gateway.service" "$ROOT$UNIT_DIR/multi-user.target.wants/campus-gateway.service"
else
  systemctl daemon-reload
  systemctl enable campus-gateway.service
  if [ "$WAS_RUNNING" = yes ]; then
    step "starting campus-gateway again (a new schema is migrated after a backup: journalctl -u campus-gateway)"
    systemctl start campus-gateway.service
    STARTED=yes
  fi
fi

if [ "$UPGRADE" = yes ]; then
  if [ "$WAS_RUNNING" = yes ]; then state="and started again"; else state="(not running: sudo systemctl start campus-gateway)"; fi
  cat <<DONE

campus-edge-gateway in ${ROOT}${PREFIX} is upgraded $state; $CONF_DIR is as it was.
Before a new database schema the gateway backs itself up (backup.dir, kind "pre-migration"); to go back, install the
old release and restore that backup (docs/operations.md, Upgrades).
DONE
else
  cat <<DONE

campus-edge-gateway is installed in ${ROOT}${PREFIX} and enabled (not started).
Next:
  1. edit $CONF_DIR/gateway.yaml (school id, readers, cameras); check it:
       sudo -u $USER_NAME campus-gateway check-config $CONF_DIR/gateway.yaml
  2. create the first administrator:   sudo -u $USER_NAME campus-gateway user add admin --role admin
  3. start it:                         sudo systemctl start campus-gateway && journalctl -u campus-gateway -f
Back up $CONF_DIR/secrets.env and $CONF_DIR/gateway.yaml somewhere safe now (README, "As a service").
DONE
fi
