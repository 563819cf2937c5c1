# Sourced by up.sh, down.sh, base-images.sh and the deploy/ fault scripts: which container engine and compose to use.
#
#   ENGINE      docker or podman: Docker when its daemon answers, else Podman (SPRINT_ENGINE overrides)
#   COMPOSE     the compose command, talking to that engine: `docker compose` or `docker-compose`; for Podman,
#               Debian's docker-compose through Podman's Docker-compatible API (podman system service), started here
#               on a socket under $STATE and stopped by down.sh
#   STATE       where the local stack keeps what it started (the API service's pid and socket)
#   PROJECT     the compose project name ("sprint"): containers are sprint_<service>_<n>
#
# Podman gets deploy/local/containers.conf (runc, no default ulimits, netavark) unless CONTAINERS_CONF is set.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE="${SPRINT_LOCAL_STATE:-${XDG_RUNTIME_DIR:-/tmp}/sprint-local-$(id -u)}"
PROJECT="${SPRINT_COMPOSE_PROJECT:-sprint}"
SECRETS="${SPRINT_SECRETS:-$ROOT/deploy/secrets}"

say() { printf '%s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

pick_engine() {
  if [ -n "${SPRINT_ENGINE:-}" ]; then ENGINE="$SPRINT_ENGINE"
  elif command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1; then ENGINE=docker
  elif command -v podman >/dev/null 2>&1; then ENGINE=podman
  else return 1
  fi
  if [ "$ENGINE" = podman ] && [ -z "${CONTAINERS_CONF:-}" ] && command -v runc >/dev/null 2>&1; then
    export CONTAINERS_CONF="$ROOT/deploy/local/containers.conf"
  fi
  return 0
}

# The compose command for $ENGINE; for Podman, starts its Docker-compatible API service unless it is already up.
pick_compose() {
  if [ "$ENGINE" = podman ]; then
    mkdir -p "$STATE"
    export DOCKER_HOST="unix://$STATE/podman.sock"
    if ! { [ -f "$STATE/podman-service.pid" ] && kill -0 "$(cat "$STATE/podman-service.pid")" 2>/dev/null; }; then
      rm -f "$STATE/podman.sock"
      podman system service --time=0 "$DOCKER_HOST" >"$STATE/podman-service.log" 2>&1 &
      echo $! >"$STATE/podman-service.pid"
      for _ in $(seq 100); do [ -S "$STATE/podman.sock" ] && break; sleep 0.1; done
      [ -S "$STATE/podman.sock" ] || die "podman system service did not open $STATE/podman.sock (see $STATE/podman-service.log)"
    fi
  fi
  if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose)
  elif command -v docker-compose >/dev/null 2>&1; then COMPOSE=(docker-compose)
  else die "no compose: install Docker Compose (docker compose) or docker-compose (apt-get install docker-compose)"
  fi
  COMPOSE+=(-p "$PROJECT" -f "$ROOT/docker-compose.yml" --env-file "$SECRETS/compose.env")
}

compose() { "${COMPOSE[@]}" "$@"; }
