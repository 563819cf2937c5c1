# Sourced by the compose benchmarks (containers.sh, faults.sh): a fresh stack, ghz Solve load against its gateway,
# a table row from ghz's report, Prometheus queries. Needs ghz (deploy/ghz/README.md), curl and python3.
# SPRINT_BENCH_REQUESTS (400) sets the Solves per load; raw ghz reports go to SPRINT_BENCH_OUT (/tmp/sprint-containers).
GHZ="$(command -v ghz || echo "$ROOT/../shared/tools/ghz")"
[ -x "$GHZ" ] || die "ghz is not installed (https://ghz.sh)"
REQUESTS=${SPRINT_BENCH_REQUESTS:-400}
OUT=${SPRINT_BENCH_OUT:-/tmp/sprint-containers}; mkdir -p "$OUT"
PROM="http://127.0.0.1:${SPRINT_PROMETHEUS_PORT:-9090}"

up() {   # up N [up.sh flags]: a fresh stack with N generators
  "$ROOT/deploy/local/down.sh" >/dev/null 2>&1 || true
  # Built every time (the engine's layer cache makes an unchanged tree a no-op), so a run never measures stale images.
  "$ROOT/deploy/local/up.sh" --generators "$@" >"$OUT/up.log" 2>&1 || { cat "$OUT/up.log" >&2; die "up.sh failed"; }
  grep -o 'every service SERVING.*' "$OUT/up.log" >&2
  umask 077; printf '{"authorization":"Bearer %s"}' "$(head -n1 "$SECRETS/client.key")" >"$OUT/metadata.json"; umask 022
  # The key and password stay in files; compose.env has the Redis password.
  REDIS_PASSWORD=$(grep '^SPRINT_REDIS_PASSWORD=' "$SECRETS/compose.env" | cut -d= -f2-)
}
down() { "$ROOT/deploy/local/down.sh" >/dev/null 2>&1; }

name() { "$ENGINE" ps --filter "label=com.docker.compose.project=$PROJECT" --format '{{.Names}}' | grep -E "[-_]$1[-_]$2\$"; }

load() {   # load TAG [ghz connection options]: ghz in the background, its JSON report in $OUT/TAG.json
  local tag=$1; shift
  local target=("$@"); [ ${#target[@]} -gt 0 ] || target=(--no-insecure --cacert "$SECRETS/tls/ca.crt" --metadata-file "$OUT/metadata.json" "127.0.0.1:${SPRINT_GRPC_PORT:-5000}")
  (cd "$ROOT/deploy/ghz" && "$GHZ" --config solve.json -n "$REQUESTS" -c 8 --connections 4 -O json \
    --data '{"question":"Mia starts with {{.RequestNumber}} apples. Mia gives 8 apples to Iris. Each of the apples is traded for 4 new ones. How many apples does Mia have now?","n":8,"strategy":"STRATEGY_SPRINT","max_new_tokens":96}' \
    "${target[@]}" >"$OUT/$tag.json") &
  LOAD=$!
}

report() {   # report TAG: one table row from ghz's report
  python3 - "$OUT/$1.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
lat = {l["percentage"]: l["latency"] / 1e6 for l in d.get("latencyDistribution") or []}
codes = d.get("statusCodeDistribution", {})
failed = sum(v for k, v in codes.items() if k != "OK")
errors = "; ".join(f"{k} ×{v}" for k, v in (d.get("errorDistribution") or {}).items())
print(f"| {d['count']} | {failed} | {d['rps']:.2f} | {lat.get(50, 0):.0f} | {lat.get(99, 0):.0f} | {errors or '—'} |")
PY
}

prom() {   # prom QUERY: "instance value" lines (after the next scrape)
  curl -s "$PROM/api/v1/query" --data-urlencode "query=$1" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["data"]["result"]: print(r["metric"].get("instance", "-"), r["value"][1])'
}


# counters: what the gateway counted so far: Solves planned as sampling (heads not chosen), Solves voted by plain
# majority (Verifier not answering), candidates restarted on another generator.
counter() { prom "sum($1)" | awk '{s += $2} END {printf "%d", s}'; }
counters() { echo "$(counter sprint_gateway_head_fallbacks_total) $(counter sprint_gateway_verifier_fallbacks_total) $(counter sprint_gateway_restarted_candidates_total)"; }

# first SERVICE: the name of SERVICE's first running container (whatever its number: a rolled service's are new).
first() { "$ENGINE" ps --filter "label=com.docker.compose.project=$PROJECT" --filter "label=com.docker.compose.service=$1" --format '{{.Names}}' | sort | head -n 1; }

# fault SERVICE FAULT: breaks the first replica of SERVICE and prints its container's name. kill: SIGKILL to its
# process (compose's restart policy starts it again); stop: the container stopped as an update does (SIGTERM; see
# recover); freeze: its process stopped (SIGSTOP, as a hung machine; `podman pause`'s cgroup freezer failed on this
# host for a busy generator) for 10 s, then resumed (SIGCONT); roll: deploy/local/up.sh --roll SERVICE (new
# containers SERVING, then the old ones drained and removed). Dies when the fault could not be made.
fault() {
  local victim; victim=$(first "$1")
  [ -n "$victim" ] || die "no running $1 container"
  case "$2" in
    kill) kill -9 "$("$ENGINE" inspect -f '{{.State.Pid}}' "$victim")" || die "could not kill $victim" ;;
    stop) "$ENGINE" stop -t 10 "$victim" >/dev/null || die "could not stop $victim" ;;
    freeze) local pid; pid=$("$ENGINE" inspect -f '{{.State.Pid}}' "$victim")
      kill -STOP "$pid" || die "could not freeze $victim"; sleep 10; kill -CONT "$pid" || die "could not resume $victim" ;;
    roll) "$ROOT/deploy/local/up.sh" --roll "$1" --no-build >"$OUT/roll-$1.log" 2>&1 || { cat "$OUT/roll-$1.log" >&2; die "rolling $1 failed"; } ;;
    *) die "unknown fault $2" ;;
  esac
  echo "$victim"
}

# recover FAULT CONTAINER: starts again a container that was stopped (the other faults recover by themselves).
recover() { if [ "$1" = stop ]; then "$ENGINE" start "$2" >/dev/null; fi; }
