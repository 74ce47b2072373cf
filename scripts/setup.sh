#!/usr/bin/env bash
# Installs what the stack needs and is missing: Debian packages, npm packages, MediaMTX v1.20.1.
# Idempotent and silent when nothing is missing; `npm start` and `npm test` run it first.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*" >&2; }

# --- Debian packages -----------------------------------------------------------------------
# command → package. redis-server, caddy and prometheus are optional (several relays side by side; TLS in
# front of the server; its metrics scrape, and promtool for the alert rules' unit tests), tested when
# present; g++, shellcheck and systemd-analyze check the firmware, the Pi install and every shell script.
need=()
declare -A pkg_for=([ffmpeg]=ffmpeg [socat]=socat [espeak-ng]=espeak-ng [chromium]=chromium [openssl]=openssl
  [g++]=g++ [shellcheck]=shellcheck [systemd-analyze]=systemd [redis-server]=redis-server [caddy]=caddy [prometheus]=prometheus)
optional=" redis-server caddy prometheus "
for cmd in ffmpeg socat espeak-ng chromium openssl g++ shellcheck systemd-analyze redis-server caddy prometheus; do
  command -v "$cmd" >/dev/null 2>&1 || need+=("${pkg_for[$cmd]}")
done
if [ ${#need[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    say "installing Debian packages: ${need[*]}"
    # Update the package lists once, when they are missing or older than a day.
    if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages' -mtime -1 2>/dev/null | head -1)" ]; then
      $SUDO apt-get update -qq >/dev/null
    fi
    if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/tmp/havatar-apt.log 2>&1; then
      # Redis and Caddy are optional: retry without them before giving up.
      rest=(); for p in "${need[@]}"; do [[ "$optional" == *" $p "* ]] || rest+=("$p"); done
      if [ ${#rest[@]} -gt 0 ] && ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${rest[@]}" >>/tmp/havatar-apt.log 2>&1; then
        say "apt-get install failed (log: /tmp/havatar-apt.log). Install by hand: ${rest[*]}"; exit 1
      fi
    fi
  else
    say "missing commands and no apt-get here; install: ${need[*]}"; exit 1
  fi
fi

# --- npm packages --------------------------------------------------------------------------
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error >/tmp/havatar-npm.log 2>&1 || { cat /tmp/havatar-npm.log >&2; say "npm ci failed"; exit 1; }
fi

# --- MediaMTX ------------------------------------------------------------------------------
bash scripts/build-mediamtx.sh >/dev/null
