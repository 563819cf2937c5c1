#!/usr/bin/env bash
# The images deploy/local/up.sh runs, built (it calls this; .ci/run does too, before the tests, so that the container
# test finds them in the engine's layer cache):
#   1. base images: the upstream ones (mcr.microsoft.com/dotnet/sdk and aspnet, redis, prom/prometheus) when they are
#      here or can be pulled, else local stand-ins made by base-images.sh (debootstrap + this machine's .NET);
#   2. sprint-<service>:1.0.0 for the five services from deploy/docker/Dockerfile (the build stage is shared).
# Prints the base image settings for compose (SPRINT_*_IMAGE=...) on standard output, one per line, when the
# stand-ins are used; progress on standard error. SPRINT_BASE (upstream|local) skips the pull check.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/engine.sh"
pick_engine || die "no container engine: install Docker or Podman (apt-get install podman runc netavark aardvark-dns iptables docker-compose; docs/suite.md, Containers)"

upstream=(mcr.microsoft.com/dotnet/sdk:10.0 mcr.microsoft.com/dotnet/aspnet:10.0 redis:7.4.2-alpine prom/prometheus:v2.53.3)
base="${SPRINT_BASE:-}"
if [ -z "$base" ]; then
  base=upstream
  for image in "${upstream[@]}"; do
    "$ENGINE" image inspect "$image" >/dev/null 2>&1 && continue
    say "pulling $image"
    timeout 300 "$ENGINE" pull -q "$image" >/dev/null 2>&1 || { base=local; say "cannot pull $image: using local stand-ins (base-images.sh)"; break; }
  done
fi
args=()
if [ "$base" = local ]; then
  "$ROOT/deploy/local/base-images.sh"
  args=(--build-arg SDK_IMAGE=sprint-base-sdk:10.0 --build-arg RUNTIME_IMAGE=sprint-base-aspnet:10.0)
  printf '%s\n' SPRINT_SDK_IMAGE=sprint-base-sdk:10.0 SPRINT_RUNTIME_IMAGE=sprint-base-aspnet:10.0 \
    SPRINT_REDIS_IMAGE=sprint-base-redis:7 SPRINT_PROMETHEUS_IMAGE=sprint-base-prometheus:2
fi

mkdir -p "$STATE"
for pair in Embedding:embedding HeadSelector:head-selector Verifier:verifier Generator:generator Gateway:gateway; do
  service=${pair%%:*}; image=sprint-${pair##*:}:1.0.0; t0=$(date +%s)
  if ! "$ENGINE" build -f "$ROOT/deploy/docker/Dockerfile" --build-arg "SERVICE=$service" "${args[@]}" -t "$image" "$ROOT" >"$STATE/build-${pair##*:}.log" 2>&1; then
    tail -n 25 "$STATE/build-${pair##*:}.log" >&2
    die "building $image failed (the whole log: $STATE/build-${pair##*:}.log)"
  fi
  say "built $image ($(($(date +%s) - t0)) s)"
done
