#!/usr/bin/env bash
# Stops and removes what deploy/local/up.sh started: the compose stack's containers and network, and the Podman API
# service it ran. The images, the base stand-ins and deploy/secrets/ stay (up.sh reuses them; delete the secrets to
# make new ones).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/engine.sh"
pick_engine || die "no container engine: nothing to stop"
if [ -f "$SECRETS/compose.env" ]; then
  pick_compose
  compose down --remove-orphans --timeout 10 >"$STATE/compose-down.log" 2>&1 || { cat "$STATE/compose-down.log" >&2; say "compose down failed: removing by label"; }
fi
# Whatever compose could not remove (or could not be asked: no secrets left), by the project's label.
left=$("$ENGINE" ps -aq --filter "label=com.docker.compose.project=$PROJECT")
[ -n "$left" ] && "$ENGINE" rm -f $left >/dev/null
"$ENGINE" network rm "${PROJECT}_default" >/dev/null 2>&1 || true
if [ -f "$STATE/podman-service.pid" ]; then
  kill "$(cat "$STATE/podman-service.pid")" 2>/dev/null || true
  rm -f "$STATE/podman-service.pid" "$STATE/podman.sock"
fi
say "stopped: project $PROJECT"
