#!/usr/bin/env bash
# The compose stack under ghz load (Solve n = 8, c = 8 over 4 connections, deploy/ghz/solve.json over TLS with the
# client's key), scaled and broken on purpose; prints one Markdown section per run for docs/numbers.md.
#
#   deploy/bench/containers.sh [serve] [scale] [kill] [pause] [redis] [verifier]    (no argument: all six)
#
#   serve     the baseline: the same load against `sprint serve` (the five services in one process, loopback h2c)
#   scale     --scale generator=1 then 3: throughput, p50/p99, and the GenerateGroup calls each replica served
#   kill      3 generators; one generator's process killed with SIGKILL mid-load: failed Solves, restarted
#             candidates, the container restarted by compose's restart policy and served again
#   pause     3 generators; one frozen (docker/podman pause) for 30 s mid-load: failed Solves, restarted candidates
#   redis     the Redis container stopped mid-load and started again: failed Solves, the embedding service's log lines
#             about it, and Redis's keys before, after the restart and at the end (caching resumed)
#   verifier  the Verifier container stopped mid-load: failed Solves, Solves that voted by plain majority, and the
#             rule one such verdict states
#
# Each run brings the stack up fresh (deploy/local/up.sh, images built once) and takes it down. Every question is
# distinct ({{.RequestNumber}}), so each Solve embeds anew. Needs ghz (deploy/ghz/README.md), curl and python3.
# SPRINT_BENCH_REQUESTS (400) sets the Solves per run; raw ghz reports go to SPRINT_BENCH_OUT (/tmp/sprint-containers).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../local/engine.sh"
pick_engine || die "no container engine"
source "$(dirname "${BASH_SOURCE[0]}")/load.sh"
runs=("$@"); [ ${#runs[@]} -gt 0 ] || runs=(serve scale kill pause redis verifier)

per_replica() {   # GenerateGroup calls served per generator container (from Prometheus, by the container's address)
  sleep 7
  local c ip
  for c in $("$ENGINE" ps --filter "label=com.docker.compose.project=$PROJECT" --format '{{.Names}}' | grep -E '[-_]generator[-_][0-9]+$' | sort); do
    ip=$("$ENGINE" inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$c")
    printf '%s: %s; ' "$c" "$(prom "sum(rpc_server_duration_milliseconds_count{rpc_method=\"GenerateGroup\",instance=\"$ip:9464\"})" | awk '{print $2}')"
  done
  echo
}

gateway_counter() { sleep 7; prom "sum($1)" | awk '{print $2}'; }

header() { printf '\n#### %s\n\n| Solves | failed | Solves/s | p50 ms | p99 ms | errors |\n| ---: | ---: | ---: | ---: | ---: | --- |\n' "$1"; }

echo "Measured $(date -u +%F) on $(nproc) cores, $ENGINE $("$ENGINE" --version | awk '{print $NF}'), by deploy/bench/containers.sh ${runs[*]} ($REQUESTS Solves per run, n = 8, c = 8)."
for run in "${runs[@]}"; do
  case "$run" in
    serve)
      port=${SPRINT_SERVE_PORT:-5900}
      dotnet run -c Release --project "$ROOT/services/Sprint.Cli" -- serve --port "$port" --web-port 0 >"$OUT/serve.log" 2>&1 &
      serve=$!
      for _ in $(seq 120); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' --http2-prior-knowledge -X POST -H 'content-type: application/grpc' "http://127.0.0.1:$port/grpc.health.v1.Health/Check" 2>/dev/null)" = 200 ] && \
          grep -q serving "$OUT/serve.log" && break
        sleep 1
      done
      sleep 5   # the model loads in the background after the port opens
      header "sprint serve (one process, loopback h2c, no TLS or keys): the baseline"
      load serve --insecure "127.0.0.1:$port"; wait "$LOAD"; report serve
      kill "$serve"; wait "$serve" 2>/dev/null || true ;;
    scale)
      for n in 1 3; do
        up "$n"; header "--scale generator=$n"
        load "scale-$n"; wait "$LOAD"; report "scale-$n"
        echo; echo "GenerateGroup calls per replica: $(per_replica)"
      done ;;
    kill)
      up 3; header "one generator killed (SIGKILL to its process) mid-load"
      victim=$(name generator 2); load kill; sleep 15
      pid=$("$ENGINE" inspect -f '{{.State.Pid}}' "$victim"); kill -9 "$pid"
      wait "$LOAD"; report kill
      echo; echo "Killed $victim (pid $pid) 15 s into the load; restarts by compose's policy: $("$ENGINE" inspect -f '{{.RestartCount}}' "$victim");" \
        "restarted candidates (sprint_gateway_restarted_candidates_total): $(gateway_counter sprint_gateway_restarted_candidates_total);" \
        "GenerateGroup calls per replica (the killed one's count is since its restart): $(per_replica)" ;;
    pause)
      up 3; header "one generator frozen (pause) for 30 s mid-load"
      victim=$(name generator 2); load pause; sleep 15
      "$ENGINE" pause "$victim" >/dev/null; sleep 30; "$ENGINE" unpause "$victim" >/dev/null
      wait "$LOAD"; report pause
      echo; echo "Paused $victim 15 s into the load for 30 s; restarted candidates: $(gateway_counter sprint_gateway_restarted_candidates_total);" \
        "GenerateGroup calls per replica: $(per_replica)" ;;
    redis)
      up 1; header "Redis stopped mid-load, started 20 s later"
      redis=$(name redis 1); keys() { "$ENGINE" exec -e REDISCLI_AUTH="$REDIS_PASSWORD" "$redis" redis-cli --no-auth-warning dbsize 2>/dev/null || echo "-"; }
      load redis; sleep 10; before=$(keys)
      "$ENGINE" stop -t 2 "$redis" >/dev/null; sleep 20; "$ENGINE" start "$redis" >/dev/null; sleep 10; back=$(keys)
      wait "$LOAD"; report redis; final=$(keys)
      lines=$("$ENGINE" logs "$(name embedding 1)" 2>&1 | grep -ci redis || true)
      echo; echo "Redis keys: $before before the stop, $back 10 s after the start (its memory was a tmpfs: empty on start), $final at the end;" \
        "the embedding service's log lines naming Redis: $lines:"; echo
      "$ENGINE" logs "$(name embedding 1)" 2>&1 | grep -i redis | cut -c1-220 | sed 's/^/    /' ;;
    verifier)
      up 1; header "Verifier stopped mid-load"
      load verifier; sleep 10; "$ENGINE" stop -t 2 "$(name verifier 1)" >/dev/null
      wait "$LOAD"; report verifier
      rule=$(cd "$ROOT" && SPRINT_API_KEY=$(head -n1 "$SECRETS/client.key") dotnet run -c Release --project "$ROOT/services/Sprint.Cli" -- solve --plain \
        --gateway "https://127.0.0.1:${SPRINT_GRPC_PORT:-5000}" --ca-cert "$SECRETS/tls/ca.crt" "Ava has 3 pens. Then Noah gives Ava 4 pens. How many pens does Ava have now?" 2>&1 | grep -o 'rule: .*' | cut -c1-160)
      echo; echo "Solves that voted by plain majority (sprint_gateway_verifier_fallbacks_total): $(gateway_counter sprint_gateway_verifier_fallbacks_total);" \
        "a verdict's rule while the Verifier is down: \"$rule\"" ;;
    *) die "unknown run $run (serve, scale, kill, pause, redis, verifier)" ;;
  esac
done
down
