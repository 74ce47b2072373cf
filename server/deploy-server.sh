#!/usr/bin/env bash
# Deploys the Havatar server (Caddy + relay + MediaMTX + Redis + Prometheus) on one VPS with Docker.
#
#   server/deploy-server.sh --domain robot.example.org [--public-ip 203.0.113.7] [--robot sim]
#   server/deploy-server.sh --env-only    (step 2 only: write or complete server/.env, start nothing)
#   server/deploy-server.sh --dry-run --domain …   (steps 1-2, then print steps 3-5 without running them)
#
# 1. checks prerequisites (docker with compose, curl, openssl, a built app in dist/);
# 2. writes secrets to server/.env (created once, chmod 600; re-runs keep the same secrets and any
#    line of yours, and add a secret that a newer stack needs);
# 3. builds and starts the stack;
# 4. waits until https://<domain>/health answers 200;
# 5. registers the robot (first run only: its password is printed once) and prints an operator link.
# DNS for the domain must point at this host, and ports 80, 443, 8322/tcp and 8189/udp be open.
# --dry-run needs no Docker: what is missing for a real run is reported instead of stopping it;
# .env is written as in a real run (HAVATAR_ENV_FILE moves it); nothing else is touched.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ENV_FILE="${HAVATAR_ENV_FILE:-$HERE/.env}"
DOMAIN=""
PUBLIC_IP=""
ROBOT="sim"
ROLE="driver"
TTL="24h"
HEALTH_TIMEOUT_S=120
ENV_ONLY=""

usage() { sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
die() { echo "deploy: $*" >&2; exit 1; }
DRY_RUN=""
# What stops a real run, and only gets reported in a dry run.
problem() { if [ -n "$DRY_RUN" ]; then echo "deploy: (dry run) a real run would stop here: $*"; else die "$*"; fi; }

while [ $# -gt 0 ]; do
  case "$1" in
    --domain) DOMAIN="${2:-}"; shift 2 ;;
    --public-ip) PUBLIC_IP="${2:-}"; shift 2 ;;
    --robot) ROBOT="${2:-}"; shift 2 ;;
    --role) ROLE="${2:-}"; shift 2 ;;
    --ttl) TTL="${2:-}"; shift 2 ;;
    --env-only) ENV_ONLY=1; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "deploy: unknown option $1" >&2; usage 1 ;;
  esac
done

# ---- 1. prerequisites --------------------------------------------------------------------------
tools="docker curl openssl"
[ -z "$ENV_ONLY" ] || tools="openssl"
for tool in $tools; do
  command -v "$tool" >/dev/null && continue
  missing_tool="$tool is missing (Debian: apt-get install docker.io docker-compose-plugin curl openssl)"
  # openssl makes the secrets: even a dry run needs it.
  if [ "$tool" = openssl ]; then die "$missing_tool"; else problem "$missing_tool"; fi
done
if [ -z "$ENV_ONLY" ]; then
  if command -v docker >/dev/null; then
    docker compose version >/dev/null 2>&1 || problem "the docker compose plugin is missing (apt-get install docker-compose-plugin)"
    docker info >/dev/null 2>&1 || problem "cannot talk to the Docker daemon (is it running, and may this user use it?)"
  fi
  [ -f "$HERE/../dist/index.html" ] || problem "the app is not built: run 'npm run build' in $(dirname "$HERE") first"
fi
[[ "$ROBOT" =~ ^[A-Za-z0-9_-]{1,64}$ ]] || die "--robot must be 1-64 of A-Z a-z 0-9 _ -"
[[ "$ROLE" == driver || "$ROLE" == viewer ]] || die "--role must be driver or viewer"

# ---- 2. secrets ----------------------------------------------------------------------------------
if [ -f "$ENV_FILE" ]; then
  echo "deploy: keeping the secrets in $ENV_FILE"
  # shellcheck disable=SC1090
  . "$ENV_FILE"
  DOMAIN="${DOMAIN:-${HAVATAR_DOMAIN:-}}"
  PUBLIC_IP="${PUBLIC_IP:-${PUBLIC_IP_SAVED:-}}"
  if [ -z "${MEDIAMTX_AUTH_SECRET:-}" ]; then
    # Written by an older deploy: MediaMTX's auth hook now needs a secret shared with the relay.
    echo "deploy: adding MEDIAMTX_AUTH_SECRET (MediaMTX's secret for the relay's auth hook) to $ENV_FILE"
    MEDIAMTX_AUTH_SECRET="$(openssl rand -hex 32)"
  fi
else
  [ -n "$DOMAIN" ] || die "--domain is required on the first run"
  ADMIN_API_KEY="$(openssl rand -base64 36 | tr -d '/+=\n')"
  MEDIAMTX_AUTH_SECRET="$(openssl rand -hex 32)"
fi
# Secrets a newer stack needs that an older .env lacks: generated once, then kept like the others.
add_secret() { # NAME WHAT
  [ -z "${!1:-}" ] || return 0
  [ ! -f "$ENV_FILE" ] || echo "deploy: adding $1 ($2) to $ENV_FILE"
  printf -v "$1" '%s' "$(openssl rand -hex 32)"
}
add_secret MEDIAMTX_API_SECRET "the password of MediaMTX's API and metrics, for the relay and Prometheus"
add_secret REDIS_PASSWORD "Redis's requirepass, in the relay's REDIS_URL"
add_secret GRAFANA_ADMIN_PASSWORD "the Grafana admin's password (compose profile dashboard)"
[ -n "$DOMAIN" ] || die "--domain is required"
[[ "$DOMAIN" =~ ^[A-Za-z0-9.-]+$ ]] || die "--domain must be a host name"
if [ -z "$PUBLIC_IP" ]; then
  PUBLIC_IP="$(curl -fsS --max-time 5 https://api.ipify.org 2>/dev/null || true)"
fi
(
  umask 077
  {
    echo "# Havatar server secrets, written by deploy-server.sh. Keep private (mode 600)."
    echo "HAVATAR_DOMAIN=$DOMAIN"
    echo "ADMIN_API_KEY=$ADMIN_API_KEY"
    echo "MEDIAMTX_AUTH_SECRET=$MEDIAMTX_AUTH_SECRET"
    echo "MEDIAMTX_API_SECRET=$MEDIAMTX_API_SECRET"
    echo "REDIS_PASSWORD=$REDIS_PASSWORD"
    echo "GRAFANA_ADMIN_PASSWORD=$GRAFANA_ADMIN_PASSWORD"
    echo "PUBLIC_IP=$PUBLIC_IP"
    echo "PUBLIC_IP_SAVED=$PUBLIC_IP"
    # Lines this script does not write (added by hand) are kept as they were.
    if [ -f "$ENV_FILE" ]; then
      grep -vE '^(HAVATAR_DOMAIN|ADMIN_API_KEY|MEDIAMTX_AUTH_SECRET|MEDIAMTX_API_SECRET|REDIS_PASSWORD|GRAFANA_ADMIN_PASSWORD|PUBLIC_IP|PUBLIC_IP_SAVED)=' "$ENV_FILE" \
        | grep -vxF "# Havatar server secrets, written by deploy-server.sh. Keep private (mode 600)." || true
    fi
  } > "$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
)
chmod 600 "$ENV_FILE"
# Every variable compose.yaml requires (${NAME:?…}) must be in .env: checked here, before Docker,
# so a dry run catches it too (compose config would say "required variable … is missing").
missing_vars=""
# shellcheck disable=SC2016 # the pattern is compose's literal ${NAME:?, not a shell expansion
required_vars="$(grep -o '\${[A-Za-z_][A-Za-z0-9_]*:?' "$HERE/compose.yaml" | sed 's/^\${//; s/:?$//' | sort -u)"
while read -r var; do
  [ -z "$var" ] || grep -q "^$var=." "$ENV_FILE" || missing_vars="$missing_vars $var"
done <<< "$required_vars"
[ -z "$missing_vars" ] || die "compose.yaml needs$missing_vars, which $ENV_FILE does not set"
# The alerts profile (Alertmanager) needs somewhere to send them: without it, it would restart forever.
if [[ ",${COMPOSE_PROFILES:-}," == *",alerts,"* ]] && [ -z "${ALERT_WEBHOOK_URL:-}" ]; then
  die "COMPOSE_PROFILES has alerts but ALERT_WEBHOOK_URL is not set: add ALERT_WEBHOOK_URL=<url> to $ENV_FILE (see compose.yaml's alertmanager)"
fi
if [ -n "$ENV_ONLY" ]; then echo "deploy: $ENV_FILE is ready (--env-only: nothing started)"; exit 0; fi

# ---- 3. start --------------------------------------------------------------------------------
# The secrets Prometheus and Alertmanager read are compose secrets taken from the environment (not
# only --env-file); ALERT_WEBHOOK_URL is a line you add to .env (see compose.yaml's alertmanager).
compose() {
  if [ -n "$DRY_RUN" ]; then
    # Secrets stay out of the output: only where they come from.
    echo "deploy: (dry run) would run: docker compose --project-directory $HERE -f $HERE/compose.yaml --env-file $ENV_FILE $* (MEDIAMTX_API_SECRET, ALERT_WEBHOOK_URL from $ENV_FILE in its environment)"
    return 0
  fi
  MEDIAMTX_API_SECRET="$MEDIAMTX_API_SECRET" ALERT_WEBHOOK_URL="${ALERT_WEBHOOK_URL:-}" docker compose --project-directory "$HERE" -f "$HERE/compose.yaml" --env-file "$ENV_FILE" "$@"
}
compose config --quiet || die "compose.yaml does not validate"
compose up -d --build --remove-orphans

# ---- 4. health -------------------------------------------------------------------------------
if [ -n "$DRY_RUN" ]; then
  echo "deploy: (dry run) would wait up to ${HEALTH_TIMEOUT_S}s for https://$DOMAIN/health to answer 200"
else
echo "deploy: waiting for https://$DOMAIN/health (TLS certificates can take a minute)"
deadline=$((SECONDS + HEALTH_TIMEOUT_S))
until curl -fsS --max-time 5 "https://$DOMAIN/health" >/dev/null 2>&1; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    compose ps >&2 || true
    compose logs --tail 30 relay mediamtx caddy >&2 || true
    die "the stack is not healthy after ${HEALTH_TIMEOUT_S}s (see the logs above)"
  fi
  sleep 2
done
echo "deploy: healthy"
fi

# ---- 5. robot and operator link -------------------------------------------------------------
relay_cli() { compose exec -T relay node --import tsx server/relay/main.ts "$@"; }
# Beside .env (server/ unless HAVATAR_ENV_FILE moves it): "this robot was registered here".
MARK="$(dirname "$ENV_FILE")/.registered-$ROBOT"
if [ ! -f "$MARK" ]; then
  echo "deploy: registering robot '$ROBOT' — put these in the robot's server_mode settings (shown once):"
  relay_cli register --robot "$ROBOT"
  if [ -n "$DRY_RUN" ]; then echo "deploy: (dry run) would create $MARK"; else touch "$MARK"; fi
fi
echo "deploy: operator link ($ROLE, valid $TTL):"
relay_cli invite --robot "$ROBOT" --role "$ROLE" --ttl "$TTL"
