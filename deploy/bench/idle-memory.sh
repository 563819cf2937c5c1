#!/usr/bin/env bash
# Resident memory of sprint serve when ready, right after a Solve load and after 15 s idle, for each clone given
# (each built with `dotnet build -c Release services/Sprint.Cli`), in the order given.
# Usage: deploy/bench/idle-memory.sh OLD_CLONE NEW_CLONE OLD_CLONE NEW_CLONE   (grpcurl on PATH)
set -u
for d in "$@"; do
  cd $d
  S=services/Sprint.Cli/bin/Release/net10.0/linux-x64/sprint.dll
  dotnet $S serve --port 5160 --web-port 0 --Logging:LogLevel:Default=Warning > /dev/null 2>&1 &
  P=$!
  for i in $(seq 60); do grpcurl -plaintext 127.0.0.1:5160 grpc.health.v1.Health/Check 2>/dev/null | grep -q SERVING && break; sleep 1; done
  before=$(grep VmRSS /proc/$P/status | awk '{print $2}')
  dotnet $S bench load --target http://127.0.0.1:5160 --rpc solve --concurrency 8 --requests 160 > /dev/null 2>&1
  loaded=$(grep VmRSS /proc/$P/status | awk '{print $2}')
  sleep 15
  idle=$(grep VmRSS /proc/$P/status | awk '{print $2}')
  echo "$d: RSS MiB ready $((before/1024)), after load $((loaded/1024)), 15 s idle $((idle/1024))"
  kill $P; wait $P 2>/dev/null
done
