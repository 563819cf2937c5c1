#!/bin/bash
# ghz Solve(n=8) c=8: plain majority vs verified vs weighted (the learned verifier) vs verified+adaptive, interleaved
# rounds against one sprint serve; then the Verifier's own Check (8 candidates) p50/p99
# (docs/numbers.md). Run from the repository root after a Release build; needs ghz on PATH.
cd "$(dirname "$0")/../.."
[ -d ../shared/tools ] && export PATH="$PATH:$(cd ../shared/tools && pwd)"
dotnet run -c Release --no-build --project services/Sprint.Cli -- serve --web-port 0 > "${TMPDIR:-/tmp}/serve.log" 2>&1 &
SERVE=$!
for i in $(seq 1 120); do grep -q "serving sprint.v1" ${TMPDIR:-/tmp}/serve.log && break; sleep 1; done
sleep 5
cd deploy/ghz
Q="Mia starts with 21 apples. Mia gives 8 apples to Iris. Each of the apples is traded for 4 new ones. How many apples does Mia have now?"
ghz --config solve.json -n 64 > /dev/null  # warm-up
for round in 1 2 3 4; do
  order="majority verified weighted adaptive"; [ $((round % 2)) -eq 0 ] && order="adaptive weighted verified majority"
  for mode in $order; do
    case $mode in
      majority) data="{\"question\":\"$Q\",\"n\":8,\"max_new_tokens\":96,\"aggregation\":\"AGGREGATION_MAJORITY\"}";;
      verified) data="{\"question\":\"$Q\",\"n\":8,\"max_new_tokens\":96,\"aggregation\":\"AGGREGATION_VERIFIED_MAJORITY\"}";;
      weighted) data="{\"question\":\"$Q\",\"n\":8,\"max_new_tokens\":96,\"aggregation\":\"AGGREGATION_VERIFIER_WEIGHTED\"}";;
      adaptive) data="{\"question\":\"$Q\",\"n\":8,\"max_new_tokens\":96,\"aggregation\":\"AGGREGATION_VERIFIED_MAJORITY\",\"adaptive\":{}}";;
    esac
    ghz --config solve.json -n 96 --data "$data" -O json > /tmp/ghz-$mode-$round.json
    python3 -c "
import json;d=json.load(open('/tmp/ghz-$mode-$round.json'))
lat={x['percentage']:x['latency']/1e6 for x in d['latencyDistribution']}
print('$round $mode', round(d['rps'],2), 'rps p50', round(lat[50]), 'ms p99', round(lat[99]), 'ms', d['statusCodeDistribution'])"
  done
done
# The Verifier's Check alone (two candidates a call, the step checker and the learned verifier): 500 calls, c = 16.
ghz --config check.json -n 500 -O json > /tmp/ghz-check.json
python3 -c "
import json;d=json.load(open('/tmp/ghz-check.json'))
lat={x['percentage']:x['latency']/1e6 for x in d['latencyDistribution']}
print('check', round(d['rps'],1), 'rps p50', round(lat[50],1), 'ms p99', round(lat[99],1), 'ms', d['statusCodeDistribution'])"
kill $SERVE
