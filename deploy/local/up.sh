#!/usr/bin/env bash
# The suite in containers on this machine, one command:
#   deploy/local/up.sh [--generators N] [--embeddings N] [--selectors N] [--verifiers N] [--replicas N] [--no-build]
#   deploy/local/up.sh --roll SERVICE [--no-build]
#
#   1. base images: the upstream ones (mcr.microsoft.com/dotnet/sdk and aspnet, redis, prom/prometheus) when they are
#      here or can be pulled, else local stand-ins made by base-images.sh (debootstrap + this machine's .NET);
#   2. the five service images from deploy/docker/Dockerfile (sprint-<service>:1.0.0; the build stage is shared);
#      steps 1 and 2 are build.sh;
#   3. the deployment's secrets in deploy/secrets/ (sprint auth deploy-secrets) unless they are there;
#   4. docker-compose.yml up with N generator replicas, on Docker or on Podman (its Docker-compatible API);
#   5. waits until every service container answers SERVING (each image's own probe: sprint-service probe), and
#      prints the gateway's addresses and how to call it.
# --replicas N sets embeddings, selectors and verifiers at once (2 or more: no single point of failure behind the
# gateway; docs/suite.md, Replicas). --roll SERVICE (embedding, head-selector, verifier or generator) updates one
# service of a running stack to its newly built image without failing a Solve: it starts as many new containers as
# run now, waits until each is SERVING and the gateway has had time to resolve them (SPRINT_ROLL_SETTLE, 20 s: the
# gateway re-resolves every 15 s), then stops the old ones with SIGTERM (each drains: NOT_SERVING, in-flight calls
# finish) and removes them. deploy/local/down.sh stops and removes all of it. Settings: SPRINT_ENGINE (docker|podman), SPRINT_BASE
# (upstream|local), SPRINT_SECRETS, SPRINT_COMPOSE_PROJECT, SPRINT_GRPC_PORT / SPRINT_HTTP_PORT /
# SPRINT_PROMETHEUS_PORT (the published ports, 5000 / 8080 / 9090), SPRINT_UP_TIMEOUT (seconds to SERVING, 300).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/engine.sh"

generators=1; embeddings=1; selectors=1; verifiers=1; build=1; roll=""
count() { [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "$1: a number of replicas, 1 or more, got '$2'"; echo "$2"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --generators|--embeddings|--selectors|--verifiers|--replicas|--roll) [ $# -ge 2 ] || die "$1 needs a value"; set -- "$1=$2" "${@:3}" ;;
    --generators=*) generators=$(count --generators "${1#*=}"); shift ;;
    --embeddings=*) embeddings=$(count --embeddings "${1#*=}"); shift ;;
    --selectors=*) selectors=$(count --selectors "${1#*=}"); shift ;;
    --verifiers=*) verifiers=$(count --verifiers "${1#*=}"); shift ;;
    --replicas=*) embeddings=$(count --replicas "${1#*=}"); selectors=$embeddings; verifiers=$embeddings; shift ;;
    --roll=*) roll=${1#*=}; [[ "$roll" =~ ^(embedding|head-selector|verifier|generator)$ ]] \
        || die "--roll: one of embedding, head-selector, verifier, generator (the gateway is the front door: docs/suite.md, Replicas), got '$roll'"; shift ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (deploy/local/up.sh [--generators N] [--embeddings N] [--selectors N] [--verifiers N] [--replicas N] [--roll SERVICE] [--no-build])" ;;
  esac
done
pick_engine || die "no container engine: install Docker or Podman (apt-get install podman runc netavark aardvark-dns iptables docker-compose; docs/suite.md, Containers)"
started=$(date +%s)

# 1–2. Base images (upstream, else local stand-ins) and the five service images: build.sh. With --no-build, the
# stand-ins are used when they are here and the upstream images are not.
if [ "$build" = 1 ]; then
  settings=$("$ROOT/deploy/local/build.sh")
elif ! "$ENGINE" image inspect mcr.microsoft.com/dotnet/aspnet:10.0 >/dev/null 2>&1 && "$ENGINE" image inspect sprint-base-redis:7 >/dev/null 2>&1; then
  settings=$(printf '%s\n' SPRINT_REDIS_IMAGE=sprint-base-redis:7 SPRINT_PROMETHEUS_IMAGE=sprint-base-prometheus:2)
else
  settings=""
fi
for setting in $settings; do export "${setting?}"; done
mkdir -p "$STATE"

# 3. Secrets, once per deployment.
if [ ! -f "$SECRETS/compose.env" ]; then
  [ -e "$SECRETS" ] && [ -n "$(ls -A "$SECRETS" 2>/dev/null)" ] && die "$SECRETS has files but no compose.env: remove it to make new secrets"
  command -v dotnet >/dev/null || die "making the secrets needs the .NET SDK (dotnet) on this machine"
  say "making the deployment's secrets in $SECRETS"
  dotnet run -c Release --project "$ROOT/services/Sprint.Cli" -- auth deploy-secrets --out "$SECRETS" >/dev/null \
    || die "sprint auth deploy-secrets failed"
fi

pick_compose
service_containers() { "$ENGINE" ps --filter "label=com.docker.compose.project=$PROJECT" --filter "label=com.docker.compose.service=$1" --format '{{.Names}}' | sort; }
serving() { "$ENGINE" exec "$1" /app/sprint-service probe >/dev/null 2>&1; }

# --roll SERVICE: new containers beside the old, SERVING, resolved by the gateway; then the old ones drained and removed.
if [ -n "$roll" ]; then
  old=$(service_containers "$roll")
  [ -n "$old" ] || die "--roll $roll: no running $roll container in project $PROJECT (deploy/local/up.sh first)"
  n=$(echo "$old" | wc -l)
  t_roll=$(date +%s)
  compose up -d --no-build --no-deps --no-recreate --scale "$roll=$((2 * n))" "$roll" >"$STATE/compose-roll.log" 2>&1 \
    || { cat "$STATE/compose-roll.log" >&2; die "compose could not start new $roll containers"; }
  new=$(comm -13 <(echo "$old") <(service_containers "$roll"))
  [ "$(echo "$new" | grep -c .)" = "$n" ] || die "--roll $roll: expected $n new containers, compose made: $(echo $new)"
  deadline=$(($(date +%s) + ${SPRINT_UP_TIMEOUT:-300}))
  for c in $new; do
    until serving "$c"; do
      [ "$(date +%s)" -lt "$deadline" ] || { "$ENGINE" logs --tail 15 "$c" >&2 || true; die "$c not SERVING after ${SPRINT_UP_TIMEOUT:-300} s (the old containers still serve)"; }
      sleep 2
    done
  done
  say "new $roll containers SERVING: $(echo $new); waiting ${SPRINT_ROLL_SETTLE:-20} s for the gateway to resolve them"
  sleep "${SPRINT_ROLL_SETTLE:-20}"
  for c in $old; do "$ENGINE" stop -t 40 "$c" >/dev/null && "$ENGINE" rm "$c" >/dev/null; done
  say "rolled $roll: $n old container(s) drained and removed, $n new serving; $(($(date +%s) - t_roll)) s"
  exit 0
fi

# 4. Up.
t_up=$(date +%s)
compose up -d --no-build --scale "generator=$generators" --scale "embedding=$embeddings" --scale "head-selector=$selectors" \
  --scale "verifier=$verifiers" >"$STATE/compose-up.log" 2>&1 \
  || { cat "$STATE/compose-up.log" >&2; die "compose up failed"; }

# 5. Every service container SERVING (each replica), or the reason it is not.
containers() { "$ENGINE" ps -a --filter "label=com.docker.compose.project=$PROJECT" --format '{{.Names}}' | grep -Ev '[-_](redis|prometheus)[-_][0-9]+$' | sort; }
deadline=$(($(date +%s) + ${SPRINT_UP_TIMEOUT:-300}))
pending=$(containers)
for expect in "generator $generators" "embedding $embeddings" "head-selector $selectors" "verifier $verifiers"; do
  set -- $expect
  [ "$(service_containers "$1" | grep -c .)" = "$2" ] || die "expected $2 $1 container(s), compose made: $(service_containers "$1" | xargs)"
done
while [ -n "$pending" ]; do
  next=""
  for c in $pending; do
    state=$("$ENGINE" inspect -f '{{.State.Status}} {{.RestartCount}}' "$c" 2>/dev/null || echo "gone 0")
    if [[ "$state" != running* ]] || [ "${state##* }" != 0 ]; then
      "$ENGINE" logs --tail 15 "$c" >&2 || true
      die "$c is not running ($state): its last lines above"
    fi
    "$ENGINE" exec "$c" /app/sprint-service probe >/dev/null 2>&1 || next="$next $c"
  done
  pending=$(echo $next)
  [ -z "$pending" ] && break
  if [ "$(date +%s)" -ge "$deadline" ]; then
    for c in $pending; do say "--- $c (last lines)"; "$ENGINE" logs --tail 5 "$c" 2>&1 | cut -c1-300 >&2 || true; done
    die "not SERVING after ${SPRINT_UP_TIMEOUT:-300} s: $pending (their last lines above)"
  fi
  sleep 2
done
now=$(date +%s)
say "every service SERVING: $(containers | wc -l) containers, $generators generator(s), $embeddings embedding, $selectors head-selector, $verifiers verifier; $((now - t_up)) s from up, $((now - started)) s in all"

grpc_port=${SPRINT_GRPC_PORT:-5000}; http_port=${SPRINT_HTTP_PORT:-8080}; prom_port=${SPRINT_PROMETHEUS_PORT:-9090}
cat <<EOF

The gateway (TLS; the CA is $SECRETS/tls/ca.crt, the client's key $SECRETS/client.key):
  gRPC       https://127.0.0.1:$grpc_port
  HTTP       https://127.0.0.1:$http_port   (the Solve page, POST /v1/solve, POST /v1/chat/completions)
  Prometheus http://127.0.0.1:$prom_port

Solve a question:
  SPRINT_API_KEY=\$(cat $SECRETS/client.key) dotnet run -c Release --project services/Sprint.Cli -- solve \\
    --gateway https://127.0.0.1:$grpc_port --ca-cert $SECRETS/tls/ca.crt "Mia has 21 apples and gives 8 away. How many are left?"

Stop and remove everything: deploy/local/down.sh
EOF
