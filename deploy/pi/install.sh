#!/usr/bin/env bash
# Installs (or updates) the Havatar bridge on a Raspberry Pi (Raspberry Pi OS bookworm, arm64).
#
#   sudo deploy/pi/install.sh [install] [options]   packages, user, udev rule, release, config, service
#   sudo deploy/pi/install.sh update [options]      new release beside the old one; health check; rollback
#   deploy/pi/install.sh detect                     lists camera, microphone, speaker and serial devices
#   deploy/pi/install.sh --dry-run [install|update] prints every action without doing it (no root needed)
#
# Options:
#   --source DIR        checkout to install from (default: the one this script is in)
#   --version V         release name (default: package.json version + git commit, or a timestamp)
#   --v1-config FILE    the v1 robot's avatar_tank_config.json to migrate (known fields mapped,
#                       unknown ones preserved beside the config)
#   --camera DEV --mic DEV --speaker DEV --serial PATH   override a detected device
#   --nodesource        if Debian's Node.js is older than package.json requires, add NodeSource's
#                       apt repository (needs internet); without it the script stops and says so
#   --offline           copy the source's node_modules instead of running npm ci (no internet)
#   --keep N            releases to keep after an update (default 3)
#
# Layout: /opt/havatar/releases/<version> (root-owned code), /opt/havatar/current -> the running
# release, /var/lib/havatar (config, token; owned by havatar), unit havatar-bridge.service, logs in
# journald (journalctl -u havatar-bridge).
set -euo pipefail

SELF_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PREFIX="${HAVATAR_PREFIX:-/opt/havatar}"
DATA_DIR="${HAVATAR_DATA_DIR:-/var/lib/havatar}"
# Where devices are looked for; tests point it at a fake /dev.
DEV_ROOT="${HAVATAR_DEV_ROOT:-/dev}"
SERVICE=havatar-bridge
SERVICE_USER=havatar
SERVICE_GROUPS=video,audio,dialout
# HAVATAR_ETC_ROOT moves the /etc files under another root (tests only).
ETC_ROOT="${HAVATAR_ETC_ROOT:-}"
UNIT_DIR="$ETC_ROOT/etc/systemd/system"
UDEV_DIR="$ETC_ROOT/etc/udev/rules.d"
JOURNALD_DIR="$ETC_ROOT/etc/systemd/journald.conf.d"
HEALTH_URL="http://127.0.0.1:5000/health"
# The bridge answers /health within a second or two of starting; a Pi 3 needs up to ~20 s.
HEALTH_TRIES="${HAVATAR_HEALTH_TRIES:-30}"
# openssl makes the robot's certificate authority and HTTPS certificate (bridge/http/ca.ts).
APT_PACKAGES=(nodejs npm ffmpeg espeak-ng alsa-utils v4l-utils curl ca-certificates openssl)

command_name=install
dry_run=0
source_dir="$(cd "$SELF_DIR/../.." && pwd)"
version=""
v1_config=""
use_nodesource=0
offline=0
keep=3
camera="" mic="" speaker="" serial=""

say() { printf '[havatar] %s\n' "$*"; }
warn() { printf '[havatar] WARNING: %s\n' "$*" >&2; }
die() { printf '[havatar] ERROR: %s\n' "$*" >&2; exit 1; }

# Every change to the system goes through run (or write_file): in a dry run it is printed instead.
run() {
  if [ "$dry_run" -eq 1 ]; then
    printf '[dry-run]'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

# write_file PATH MODE < content
write_file() {
  local path="$1" mode="$2" tmp
  if [ "$dry_run" -eq 1 ]; then
    printf '[dry-run] write %s (mode %s):\n' "$path" "$mode"
    sed 's/^/    | /'
    return
  fi
  tmp="$(mktemp "$path.XXXXXX")"
  cat >"$tmp"
  chmod "$mode" "$tmp"
  mv -f "$tmp" "$path"
}

usage() { sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      install | update | detect) command_name="$1" ;;
      --dry-run) dry_run=1 ;;
      --source) source_dir="$(cd "${2:?--source needs a directory}" && pwd)"; shift ;;
      --version) version="${2:?--version needs a value}"; shift ;;
      --v1-config) v1_config="${2:?--v1-config needs a file}"; shift ;;
      --camera) camera="${2:?}"; shift ;;
      --mic) mic="${2:?}"; shift ;;
      --speaker) speaker="${2:?}"; shift ;;
      --serial) serial="${2:?}"; shift ;;
      --nodesource) use_nodesource=1 ;;
      --offline) offline=1 ;;
      --keep) keep="${2:?}"; shift ;;
      -h | --help) usage; exit 0 ;;
      *) usage >&2; die "unknown argument: $1" ;;
    esac
    shift
  done
  [[ "$keep" =~ ^[1-9][0-9]*$ ]] || die "--keep must be a positive number"
  if [ -n "$v1_config" ] && [ ! -r "$v1_config" ]; then die "cannot read --v1-config $v1_config"; fi
  [ -f "$source_dir/package.json" ] || die "$source_dir is not a Havatar checkout (no package.json)"
  [ -f "$source_dir/bridge/main.ts" ] || die "$source_dir has no bridge/main.ts"
}

require_root() {
  # HAVATAR_SKIP_ROOT_CHECK is for deploy/pi/install.test.ts, which runs updates in a temp prefix.
  if [ "$dry_run" -eq 0 ] && [ "$(id -u)" -ne 0 ] && [ -z "${HAVATAR_SKIP_ROOT_CHECK:-}" ]; then
    die "run as root (sudo $0 $command_name ...), or add --dry-run to see what it would do"
  fi
}

# ---- checks ---------------------------------------------------------------------------------

check_platform() {
  local arch codename=""
  arch="$(uname -m)"
  case "$arch" in
    aarch64 | arm64) ;;
    *) warn "this is $arch, not arm64: the script targets Raspberry Pi OS bookworm arm64 but goes on" ;;
  esac
  if [ -r /etc/os-release ]; then
    # shellcheck disable=SC1091 # a system file, not part of this repository
    codename="$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")"
  fi
  [ "$codename" = bookworm ] || warn "this is '${codename:-unknown}', not Debian bookworm: package names may differ"
}

# The Node.js major version package.json's engines field asks for (">=20" -> 20).
required_node_major() {
  sed -n 's/.*"node"[[:space:]]*:[[:space:]]*">=[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$source_dir/package.json" | head -n 1
}

node_major() {
  command -v node >/dev/null 2>&1 || { echo 0; return; }
  node --version 2>/dev/null | sed -n 's/^v\([0-9][0-9]*\).*/\1/p'
}

# ---- packages -------------------------------------------------------------------------------

install_packages() {
  local need have
  need="$(required_node_major)"
  need="${need:-20}"
  say "installing Debian packages: ${APT_PACKAGES[*]}"
  run apt-get update
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${APT_PACKAGES[@]}"
  have="$(node_major)"
  if [ "$dry_run" -eq 1 ] && [ "$have" -lt "$need" ]; then
    say "Node.js major version here: $have (0 = none); a real run checks Debian's nodejs after installing it (needs >= $need)"
    return
  fi
  if [ "$have" -ge "$need" ]; then
    say "Node.js $(node --version) (>= $need) ok"
    return
  fi
  if [ "$use_nodesource" -eq 0 ]; then
    die "Node.js $have from Debian is older than the $need package.json requires. Re-run with --nodesource to install Node.js $need from NodeSource (needs internet), or install node >= $need yourself and re-run."
  fi
  say "adding NodeSource's Node.js $need repository"
  run install -d -m 0755 /etc/apt/keyrings
  run curl -fsSL -o /etc/apt/keyrings/nodesource.asc https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key
  echo "deb [signed-by=/etc/apt/keyrings/nodesource.asc] https://deb.nodesource.com/node_$need.x nodistro main" |
    write_file /etc/apt/sources.list.d/nodesource.list 0644
  run apt-get update
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs
  [ "$dry_run" -eq 1 ] || [ "$(node_major)" -ge "$need" ] || die "Node.js is still $(node_major) after adding NodeSource"
}

ensure_user() {
  if id "$SERVICE_USER" >/dev/null 2>&1; then
    say "user $SERVICE_USER exists"
  else
    run useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
  fi
  # --groups sets the whole supplementary list: camera, sound, serial port, and nothing else.
  run usermod --groups "$SERVICE_GROUPS" "$SERVICE_USER"
  run install -d -o "$SERVICE_USER" -g "$SERVICE_USER" -m 0700 "$DATA_DIR"
}

install_udev_rule() {
  run install -m 0644 "$SELF_DIR/99-havatar-esp32.rules" "$UDEV_DIR/99-havatar-esp32.rules"
  run udevadm control --reload-rules
  run udevadm trigger --subsystem-match=tty --action=add
}

install_journald_dropin() {
  run install -d -m 0755 "$JOURNALD_DIR"
  # Keep the bridge's logs across reboots (a robot that fell over is debugged afterwards), but
  # bounded, because the SD card is small and wears.
  printf '[Journal]\nStorage=persistent\nSystemMaxUse=200M\n' | write_file "$JOURNALD_DIR/havatar.conf" 0644
  run systemctl restart systemd-journald
}

install_unit() {
  install_unit_from "$SELF_DIR"
  run systemctl enable "$SERVICE"
}

# The unit belongs to its release (how the bridge is started changes with the code): a rollback
# puts the previous release's unit back too.
install_unit_from() {
  run install -m 0644 "$1/havatar-bridge.service" "$UNIT_DIR/$SERVICE.service"
  run systemctl daemon-reload
}

# ---- releases -------------------------------------------------------------------------------

default_version() {
  local v commit
  v="$(sed -n 's/^[[:space:]]*"version"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$source_dir/package.json" | head -n 1)"
  commit="$(git -C "$source_dir" rev-parse --short HEAD 2>/dev/null || true)"
  if [ -n "$commit" ]; then printf '%s-%s\n' "${v:-0}" "$commit"; else printf '%s-%s\n' "${v:-0}" "$(date +%Y%m%d%H%M%S)"; fi
}

# Copies the source into releases/<version> and installs its npm packages. The code stays
# root-owned: the service user can run it but not change it.
deploy_release() {
  local dest="$PREFIX/releases/$version"
  if [ -e "$dest" ]; then die "release $dest already exists; pass another --version"; fi
  say "installing release $version into $dest"
  run install -d -m 0755 "$PREFIX/releases"
  run install -d -m 0755 "$dest"
  copy_tree "$source_dir" "$dest"
  if [ "$offline" -eq 1 ]; then
    [ -d "$source_dir/node_modules" ] || [ "$dry_run" -eq 1 ] || die "--offline needs node_modules in $source_dir (run npm ci there first)"
    run cp -a "$source_dir/node_modules" "$dest/node_modules"
  elif [ -f "$source_dir/dist/index.html" ]; then
    run npm --prefix "$dest" ci --omit=dev --no-audit --no-fund
  else
    # No built app in the source: build it here (needs the dev packages once), then drop them.
    say "no dist/ in $source_dir: building the app on this machine"
    run npm --prefix "$dest" ci --no-audit --no-fund
    run npm --prefix "$dest" run build
    run npm --prefix "$dest" prune --omit=dev
  fi
  # The bridge runs as plain JS (build/bridge.mjs, see havatar-bridge.service), bundled here from
  # this release's sources; esbuild comes with tsx, a runtime dependency.
  run npm --prefix "$dest" run build:bridge
  run chown -R root:root "$dest"
  # tar gave the folder the checkout's time; pruning orders releases by install time.
  run touch "$dest"
}

# Copies a checkout without what is rebuilt or private (node_modules, .git, test output, the bridge bundle).
copy_tree() {
  if [ "$dry_run" -eq 1 ]; then
    printf '[dry-run] copy %s -> %s (without node_modules, .git, test-results, build)\n' "$1" "$2"
    return
  fi
  tar -C "$1" --exclude=./node_modules --exclude=./.git --exclude=./test-results --exclude=./build -cf - . | tar -C "$2" -xf -
}

# Points current at a release atomically (a new link renamed over the old one).
switch_to() {
  run ln -sfn "releases/$1" "$PREFIX/current.new"
  run mv -T "$PREFIX/current.new" "$PREFIX/current"
}

current_release() {
  local target
  target="$(readlink "$PREFIX/current" 2>/dev/null || true)"
  printf '%s\n' "${target#releases/}"
}

health_check() {
  local i
  if [ "$dry_run" -eq 1 ]; then
    printf '[dry-run] curl -fsS --max-time 2 %s (up to %s tries, 1 s apart)\n' "$HEALTH_URL" "$HEALTH_TRIES"
    return 0
  fi
  for ((i = 1; i <= HEALTH_TRIES; i++)); do
    if curl -fsS --max-time 2 "$HEALTH_URL" >/dev/null 2>&1; then
      say "health check passed ($HEALTH_URL)"
      return 0
    fi
    sleep 1
  done
  warn "health check failed: $HEALTH_URL did not answer within ${HEALTH_TRIES} s"
  return 1
}

prune_releases() {
  local old
  [ -d "$PREFIX/releases" ] || return 0
  # Newest first by modification time; the current one is never removed.
  while IFS= read -r old; do
    [ "$old" = "$(current_release)" ] && continue
    run rm -rf "$PREFIX/releases/$old"
  done < <(find "$PREFIX/releases" -mindepth 1 -maxdepth 1 -type d -printf '%T@ %f\n' | sort -rn | awk -v keep="$keep" 'NR > keep { print $2 }')
}

# ---- devices and config ---------------------------------------------------------------------

# "card 1: Device [USB Audio Device], device 0: USB Audio [USB Audio]" -> plughw:1,0 (plughw
# converts rate and format, so FFmpeg's 16 kHz mono works with any card). Prefers a USB card
# over the Pi's HDMI/headphone outputs.
first_alsa() {
  local list="$1"
  { grep -i 'usb' <<<"$list" || true; grep -vi 'usb' <<<"$list" || true; } |
    sed -n 's/^card \([0-9][0-9]*\):.*, device \([0-9][0-9]*\):.*/plughw:\1,\2/p' | head -n 1
}

# The first ALSA card the lister (arecord/aplay) shows, or 'sim' with a warning saying how to pick one.
alsa_or_sim() {
  local lister="$1" what="$2" kind="$3" flag="$4" found
  found="$(first_alsa "$("$lister" -l 2>/dev/null || true)")"
  if [ -z "$found" ]; then
    warn "no $what found ($lister -l lists no $kind card): using the simulated $what 'sim'. Pass $flag plughw:CARD,DEV to choose one"
    found=sim
  fi
  printf '%s\n' "$found"
}

detect_devices() {
  local v
  if [ -z "$camera" ]; then
    for v in "$DEV_ROOT"/video*; do
      [ -e "$v" ] || continue
      # A USB camera exposes a capture node and a metadata node; the first one captures.
      camera="$v"
      break
    done
    if [ -z "$camera" ]; then
      warn "no camera found ($DEV_ROOT/video* is empty): using the synthetic camera 'sim'. Plug in a USB camera and re-run, or pass --camera /dev/videoN"
      camera=sim
    fi
  fi
  [ -n "$mic" ] || mic="$(alsa_or_sim arecord microphone capture --mic)"
  [ -n "$speaker" ] || speaker="$(alsa_or_sim aplay speaker playback --speaker)"
  if [ -z "$serial" ]; then
    for v in "$DEV_ROOT"/havatar-esp32 "$DEV_ROOT"/ttyUSB* "$DEV_ROOT"/ttyACM*; do
      [ -e "$v" ] || continue
      serial="$v"
      break
    done
    if [ -z "$serial" ]; then
      # The udev link appears when the board is plugged in; the bridge retries the port.
      warn "no ESP32 serial port found (no $DEV_ROOT/havatar-esp32, ttyUSB* or ttyACM*): the config will use /dev/havatar-esp32, which appears when a CP210x/CH340 board is plugged in"
      serial=/dev/havatar-esp32
    fi
  fi
  # A ttyUSBn found now is renamed by the udev rule: store the stable name instead.
  case "$serial" in "$DEV_ROOT"/ttyUSB* | "$DEV_ROOT"/ttyACM*) serial=/dev/havatar-esp32 ;; esac
  say "camera:     $camera"
  say "microphone: $mic"
  say "speaker:    $speaker"
  say "serial:     $serial"
}

write_config() {
  local dir="$1" args
  args=(--data-dir "$DATA_DIR" --camera "$camera" --mic "$mic" --speaker "$speaker" --serial "$serial")
  [ -z "$v1_config" ] || args+=(--from "$(cd "$(dirname "$v1_config")" && pwd)/$(basename "$v1_config")")
  if [ "$dry_run" -eq 1 ]; then
    # Show what the migration would decide, without writing (it needs only read access).
    if [ -d "$source_dir/node_modules/tsx" ] && command -v node >/dev/null 2>&1; then
      printf '[dry-run] config migration report: '
      (cd "$source_dir" && node --import tsx deploy/pi/migrate-config.ts "${args[@]}" --dry-run) ||
        warn "the migration would fail (see above)"
    fi
  fi
  run runuser -u "$SERVICE_USER" -- env -C "$dir" node --import tsx deploy/pi/migrate-config.ts "${args[@]}"
}

# The first install creates the operator token before the first start, so it is shown here once
# instead of landing in the journal.
create_token() {
  local dir="$1"
  if [ -f "$DATA_DIR/operator_token.json" ]; then
    say "operator token exists (new one: sudo -u $SERVICE_USER sh -c 'cd $PREFIX/current && node --import tsx bridge/main.ts token --reset --data-dir $DATA_DIR')"
    return
  fi
  say "operator token (shown once; keep it to log in from the app):"
  run runuser -u "$SERVICE_USER" -- env -C "$dir" node --import tsx bridge/main.ts token --reset --data-dir "$DATA_DIR"
}

# The robot's certificate authority and the HTTPS certificate it signs, in $DATA_DIR/tls (the
# bridge makes them on its first start too; here the CA's fingerprint and download address are
# shown once, for the operator to compare on the phone). An existing CA is kept: phones trust it.
create_tls() {
  local dir="$1"
  run runuser -u "$SERVICE_USER" -- env -C "$dir" node --import tsx deploy/pi/make-tls.ts --data-dir "$DATA_DIR"
}

# ---- commands -------------------------------------------------------------------------------

cmd_detect() {
  detect_devices
  say "serial devices:"
  find "$DEV_ROOT" -maxdepth 1 \( -name 'ttyUSB*' -o -name 'ttyACM*' -o -name 'havatar-esp32' \) -printf '    %p\n' 2>/dev/null || true
}

cmd_install() {
  require_root
  check_platform
  [ -n "$version" ] || version="$(default_version)"
  [ "$dry_run" -eq 0 ] || say "dry run: nothing below is done"
  install_packages
  ensure_user
  install_udev_rule
  install_journald_dropin
  detect_devices
  deploy_release
  write_config "$PREFIX/releases/$version"
  create_token "$PREFIX/releases/$version"
  create_tls "$PREFIX/releases/$version"
  switch_to "$version"
  install_unit
  run systemctl restart "$SERVICE"
  health_check || die "the bridge does not answer; see: journalctl -u $SERVICE -n 100"
  say "installed $version; logs: journalctl -u $SERVICE -f"
}

cmd_update() {
  local previous
  require_root
  [ -n "$version" ] || version="$(default_version)"
  previous="$(current_release)"
  if [ -z "$previous" ] && [ "$dry_run" -eq 0 ]; then die "nothing installed in $PREFIX yet: run install first"; fi
  [ "$dry_run" -eq 0 ] || say "dry run: nothing below is done (current release: ${previous:-none})"
  deploy_release
  # Devices were chosen at install; an update keeps the config and only migrates new fields.
  run runuser -u "$SERVICE_USER" -- env -C "$PREFIX/releases/$version" node --import tsx deploy/pi/migrate-config.ts --data-dir "$DATA_DIR"
  # A robot installed before the robot CA gets one here (its old self-signed pair is kept beside).
  create_tls "$PREFIX/releases/$version"
  install_unit
  switch_to "$version"
  run systemctl restart "$SERVICE"
  if health_check; then
    say "updated ${previous:-none} -> $version"
    prune_releases
    return 0
  fi
  warn "rolling back to ${previous}"
  switch_to "$previous"
  if [ -f "$PREFIX/releases/$previous/deploy/pi/havatar-bridge.service" ]; then
    install_unit_from "$PREFIX/releases/$previous/deploy/pi"
  fi
  run systemctl restart "$SERVICE"
  health_check || warn "the previous release does not answer either; see: journalctl -u $SERVICE -n 100"
  die "update to $version failed its health check; back on $previous (the new release stays in $PREFIX/releases/$version for inspection)"
}

main() {
  parse_args "$@"
  case "$command_name" in
    install) cmd_install ;;
    update) cmd_update ;;
    detect) cmd_detect ;;
  esac
}

main "$@"
