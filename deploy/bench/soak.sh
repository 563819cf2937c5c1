#!/usr/bin/env bash
# A soak of the compose stack with two replicas of every service behind the gateway: steady ghz load (Solve n = 8,
# sprint, c = 8, distinct questions) for SPRINT_SOAK_MINUTES (30), one fault every SPRINT_SOAK_EVERY seconds (180),
# rotating through the fault matrix (deploy/bench/faults.sh's faults), and every container's memory once a minute.
# Prints the Solves, failures, p50/p99, what fell back, the faults with their times, and the memory table (MiB per
# container per minute; a container that was rolled or restarted shows its new process). Flat after warm-up is the
# target: the last column against the one at SPRINT_SOAK_WARMUP minutes (5).
#
#   deploy/bench/soak.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../local/engine.sh"
pick_engine || die "no container engine"
source "$(dirname "${BASH_SOURCE[0]}")/load.sh"
pick_compose
MINUTES=${SPRINT_SOAK_MINUTES:-30}; EVERY=${SPRINT_SOAK_EVERY:-180}; WARMUP=${SPRINT_SOAK_WARMUP:-5}
faults=(embedding:kill head-selector:stop verifier:freeze generator:kill embedding:roll redis:freeze head-selector:kill
  verifier:stop generator:freeze head-selector:roll embedding:stop verifier:kill)

up 2 --replicas 2
echo "Measured $(date -u +%F) on $(nproc) cores, $ENGINE $("$ENGINE" --version | awk '{print $NF}'), by deploy/bench/soak.sh: $MINUTES minutes," \
  "2 replicas of every service but the gateway and Redis, ghz Solve(n = 8, sprint, max_new_tokens 96) c = 8, distinct questions, a fault every $EVERY s."
read -r fb0 mv0 rs0 <<<"$(counters)"

# ghz for the whole soak (-z), its report at the end.
(cd "$ROOT/deploy/ghz" && "$GHZ" --config solve.json -z "${MINUTES}m" -c 8 --connections 4 -O json --timeout 120s \
  --data '{"question":"Mia starts with {{.RequestNumber}} apples. Mia gives 8 apples to Iris. Each of the apples is traded for 4 new ones. How many apples does Mia have now?","n":8,"strategy":"STRATEGY_SPRINT","max_new_tokens":96}' \
  --no-insecure --cacert "$SECRETS/tls/ca.crt" --metadata-file "$OUT/metadata.json" "127.0.0.1:${SPRINT_GRPC_PORT:-5000}" >"$OUT/soak.json") &
LOAD=$!

start=$(date +%s); next_fault=$((start + EVERY)); next_sample=$start; i=0
: >"$OUT/soak-memory.tsv"; : >"$OUT/soak-faults.txt"
while kill -0 "$LOAD" 2>/dev/null; do
  now=$(date +%s)
  if [ "$now" -ge "$next_sample" ]; then
    minute=$(((now - start) / 60))
    "$ENGINE" stats --no-stream --format '{{.Name}}\t{{.MemUsage}}' 2>/dev/null | awk -v m="$minute" -F'\t' '{split($2, u, " / "); print m "\t" $1 "\t" u[1]}' >>"$OUT/soak-memory.tsv" || true
    next_sample=$((next_sample + 60))
  fi
  if [ "$now" -ge "$next_fault" ] && [ "$now" -lt $((start + MINUTES * 60 - 60)) ]; then
    row=${faults[$((i % ${#faults[@]}))]}; i=$((i + 1))
    victim=$(fault "${row%%:*}" "${row#*:}")
    echo "minute $(((now - start) / 60)): ${row%%:*} ${row#*:} ($victim)" >>"$OUT/soak-faults.txt"
    if [ "${row#*:}" = stop ]; then sleep 30; recover stop "$victim"; fi
    next_fault=$((next_fault + EVERY))
  fi
  sleep 5
done
wait "$LOAD" || true
sleep 8
read -r fb1 mv1 rs1 <<<"$(counters)"

printf '\n| Solves | failed | Solves/s | p50 ms | p99 ms | errors |\n| ---: | ---: | ---: | ---: | ---: | --- |\n'
report soak
python3 - "$OUT/soak.json" <<'PY'
import json, sys
errors = json.load(open(sys.argv[1])).get("errorDistribution") or {}
closing = sum(v for k, v in errors.items() if "Canceled" in k and "client connection is closing" in k)
if closing:
    print(f"\n{closing} of the failures are ghz's own: the Solves it had in flight when its -z duration ran out, "
          "cancelled by ghz as it closed its connections (\"the client connection is closing\" is ghz's message, not a server's status).")
PY
echo
echo "Faults ($i): $(paste -sd ';' "$OUT/soak-faults.txt" | sed 's/;/; /g')."
echo "Meanwhile: $((fb1 - fb0)) Solves fell back to sampling, $((mv1 - mv0)) voted by plain majority, $((rs1 - rs0)) candidates restarted."
echo
python3 - "$OUT/soak-memory.tsv" "$WARMUP" <<'PY'
import sys, collections
units = {"B": 1 / 2**20, "kB": 1 / 2**10, "KB": 1 / 2**10, "KiB": 1 / 2**10, "MB": 1, "MiB": 1, "GB": 2**10, "GiB": 2**10}
mem = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    minute, name, usage = line.rstrip("\n").split("\t")
    number = usage.rstrip("BKkMGi")
    unit = usage[len(number):]
    try: mem[name][int(minute)] = float(number) * units.get(unit, 1)
    except ValueError: pass
warm = int(sys.argv[2])
minutes = sorted({m for d in mem.values() for m in d})
print("Resident memory, MiB, per container (a row per container; columns every 5 minutes and the last):\n")
cols = [m for m in minutes if m % 5 == 0] + ([minutes[-1]] if minutes and minutes[-1] % 5 else [])
print("| container | " + " | ".join(f"min {m}" for m in cols) + f" | last − min {warm} |")
print("| --- | " + " | ".join("---:" for _ in cols) + " | ---: |")
for name in sorted(mem):
    d = mem[name]
    cells = [f"{d[m]:.0f}" if m in d else "" for m in cols]
    last = d[max(d)]
    base = d.get(warm)
    print(f"| {name} | " + " | ".join(cells) + f" | {'' if base is None else f'{last - base:+.0f}'} |")
PY
down
