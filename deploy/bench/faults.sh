#!/usr/bin/env bash
# The fault matrix, as deployed: the compose stack with two replicas of every service behind the gateway
# (deploy/local/up.sh --generators 2 --replicas 2), ghz Solve(n = 8, sprint) c = 8 on distinct questions, and one
# fault 5 s into each load. Prints the Markdown table docs/numbers.md holds.
#
#   deploy/bench/faults.sh [SERVICE:FAULT ...]     (no argument: every row below, after a row with no fault)
#
#   SERVICE   embedding, head-selector, verifier, generator; redis (kill, stop, freeze); gateway (freeze only: it is
#             the front door, one published port; docs/suite.md, Replicas, says what a client sees and how to run two)
#   FAULT     kill    SIGKILL to the first replica's process (compose's restart policy starts it again)
#             stop    the first replica's container stopped (SIGTERM, as an update does), started again after the load
#             freeze  the first replica's process frozen (SIGSTOP) for 10 s, then resumed
#             roll    deploy/local/up.sh --roll SERVICE: new containers, SERVING, then the old ones drained
#
# Each row: failed Solves (ghz's non-OK statuses), Solves/s, p50/p99, and what the gateway counted meanwhile: Solves
# planned as sampling because the heads could not be chosen (sprint_gateway_head_fallbacks_total), Solves voted by
# plain majority because the Verifier could not check (sprint_gateway_verifier_fallbacks_total), candidates restarted
# on another generator. The stack comes up once (images built); between rows every container is SERVING again.
# SPRINT_BENCH_REQUESTS (160; 400 for roll rows, which take longer) sets the Solves per row.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../local/engine.sh"
pick_engine || die "no container engine"
export SPRINT_BENCH_REQUESTS=${SPRINT_BENCH_REQUESTS:-160}
source "$(dirname "${BASH_SOURCE[0]}")/load.sh"
pick_compose

rows=("$@")
if [ ${#rows[@]} -eq 0 ]; then
  rows=(none:none)
  for s in embedding head-selector verifier generator; do for f in kill stop freeze roll; do rows+=("$s:$f"); done; done
  rows+=(redis:kill redis:stop redis:freeze gateway:freeze)
fi
for row in "${rows[@]}"; do
  [[ "$row" =~ ^((embedding|head-selector|verifier|generator):(kill|stop|freeze|roll)|redis:(kill|stop|freeze)|gateway:freeze|none:none)$ ]] || die "unknown row $row (SERVICE:FAULT, see the header)"
done


# Every container of the stack running and (but Redis and Prometheus) SERVING, or die saying which is not.
all_serving() {
  local deadline=$(($(date +%s) + 300)) c
  for c in $("$ENGINE" ps -a --filter "label=com.docker.compose.project=$PROJECT" --format '{{.Names}}'); do
    until [ "$("$ENGINE" inspect -f '{{.State.Status}}' "$c")" = running ] && { [[ "$c" =~ [-_](redis|prometheus)[-_][0-9]+$ ]] || "$ENGINE" exec "$c" /app/sprint-service probe >/dev/null 2>&1; }; do
      [ "$(date +%s)" -lt "$deadline" ] || die "$c is not serving again after 300 s"
      sleep 2
    done
  done
}

up 2 --replicas 2
echo "Measured $(date -u +%F) on $(nproc) cores, $ENGINE $("$ENGINE" --version | awk '{print $NF}'), by deploy/bench/faults.sh:" \
  "2 replicas of every service but the gateway and Redis, ghz Solve(n = 8, sprint, max_new_tokens 96) c = 8, distinct questions, the fault 5 s in."
printf '\n| service | fault | Solves | failed | Solves/s | p50 ms | p99 ms | errors | fell back to sampling | voted by majority | candidates restarted |\n'
printf '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |\n'
for row in "${rows[@]}"; do
  service=${row%%:*}; fault=${row#*:}
  all_serving
  sleep 8   # a scrape after the last row's end
  read -r fb0 mv0 rs0 <<<"$(counters)"
  [ "$fault" = roll ] && REQUESTS=400 || REQUESTS=$SPRINT_BENCH_REQUESTS
  load "$service-$fault"; sleep 5
  if [ "$fault" != none ]; then victim=$(fault "$service" "$fault"); else victim=""; fi
  wait "$LOAD"
  recover "$fault" "$victim"
  sleep 8
  read -r fb1 mv1 rs1 <<<"$(counters)"
  printf '| %s | %s %s | %d | %d | %d |\n' "$service" "$fault" "$(report "$service-$fault" | sed 's/ |$//')" $((fb1 - fb0)) $((mv1 - mv0)) $((rs1 - rs0))
done
down
