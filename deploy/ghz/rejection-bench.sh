#!/bin/bash
# Verify while decoding, served: ghz Solve(n=8) c=8 on distinct questions (the first 96 of the synthetic test split,
# one per call in turn) against one sprint serve, interleaved rounds of: today's verified vote (rejection none), the
# default (replace), replace with the adaptive waves, and replacex1 with the waves; with each mode's Solves/s, p50/p99
# and the serve process's CPU seconds per Solve (/proc: the gateway, generator and Verifier share the process, so the
# difference between modes is what the Watch and the steering add). Run from the repository root after a Release
# build; needs ghz on PATH and data/synthetic (sprint data synth --out data/synthetic --seed 1 --count 30000).
cd "$(dirname "$0")/../.."
[ -d ../shared/tools ] && export PATH="$PATH:$(cd ../shared/tools && pwd)"
ROUNDS=${ROUNDS:-3}
N_CALLS=${N_CALLS:-48}
dotnet run -c Release --no-build --project services/Sprint.Cli -- serve --web-port 0 > "${TMPDIR:-/tmp}/serve.log" 2>&1 &
SERVE=$!
trap 'kill $SERVE 2>/dev/null' EXIT
for i in $(seq 1 120); do grep -q "serving sprint.v1" ${TMPDIR:-/tmp}/serve.log && break; sleep 1; done
sleep 5
PID=$(pgrep -P $SERVE | head -1); PID=${PID:-$SERVE}
cd deploy/ghz
questions() {   # $1: the extra JSON fields of every request
  python3 -c "
import json,sys
qs=[json.loads(l)['question'] for l in open('../../data/synthetic/test.jsonl')][:96]
print(json.dumps([dict(question=q, n=8, max_new_tokens=96, **json.loads(sys.argv[1])) for q in qs]))" "$1"
}
cpu() { awk '{print $14+$15}' /proc/$PID/stat; }
ghz --config solve.json -n 32 > /dev/null  # warm-up
for round in $(seq 1 $ROUNDS); do
  order="none replace replace-waves replacex1-waves"; [ $((round % 2)) -eq 0 ] && order="replacex1-waves replace-waves replace none"
  for mode in $order; do
    case $mode in
      none) extra='{"rejection":{"mode":"REJECTION_MODE_NONE"}}';;
      replace) extra='{}';;
      replace-waves) extra='{"adaptive":{}}';;
      replacex1-waves) extra='{"adaptive":{},"rejection":{"mode":"REJECTION_MODE_REPLACE","max_candidates":8}}';;
    esac
    questions "$extra" > /tmp/ghz-data-$mode.json
    before=$(cpu)
    ghz --config solve.json -n $N_CALLS --data-file /tmp/ghz-data-$mode.json -O json > /tmp/ghz-$mode-$round.json
    after=$(cpu)
    python3 -c "
import json,os;d=json.load(open('/tmp/ghz-$mode-$round.json'))
lat={x['percentage']:x['latency']/1e6 for x in d['latencyDistribution']}
ticks=os.sysconf('SC_CLK_TCK')
print('$round $mode', round(d['rps'],2), 'Solves/s p50', round(lat[50]), 'ms p99', round(lat[99]), 'ms', round(($after-$before)/ticks/d['count'],3), 'CPU s/Solve', d['statusCodeDistribution'])"
  done
done
