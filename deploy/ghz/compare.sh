#!/usr/bin/env bash
# Measures two builds of the suite in one run with ghz: for each clone (built with
# `dotnet build -c Release services/Sprint.Cli`), starts `sprint serve` on its own loopback port, warms it up, runs
# Solve at concurrency 1 and 8 and Generate at 32 with that clone's deploy/ghz configs, then stops it.
# Usage: deploy/ghz/compare.sh OLD_CLONE NEW_CLONE   (ghz on PATH)
set -euo pipefail
run() {
  local dir=$1 port=$2
  (cd "$dir" && exec dotnet services/Sprint.Cli/bin/Release/net10.0/linux-x64/sprint.dll serve --port "$port" --Logging:LogLevel:Default=Warning) > /dev/null 2>&1 &
  local pid=$!
  trap 'kill $pid 2>/dev/null || true' RETURN
  for _ in $(seq 120); do
    if ghz --insecure --call grpc.health.v1.Health.Check -n 1 "127.0.0.1:$port" 2>/dev/null | grep -qF '[OK]'; then break; fi
    sleep 1
  done
  cd "$dir/deploy/ghz"
  ghz --config solve.json -c 1 --connections 1 -n 4 "127.0.0.1:$port" > /dev/null   # warm-up
  echo "== $dir"
  echo "-- Solve(n=8), c=1";  ghz --config solve.json -c 1 --connections 1 -n 24 "127.0.0.1:$port" | grep -E "Requests/sec|Average|^ +\[[A-Za-z]+\]" || true
  echo "-- Solve(n=8), c=8";  ghz --config solve.json -n 96 "127.0.0.1:$port" | grep -E "Requests/sec|Average|50 % in|^ +\[[A-Za-z]+\]" || true
  echo "-- Generate, c=32";   ghz --config generate.json -n 512 "127.0.0.1:$port" | grep -E "Requests/sec|Average|^ +\[[A-Za-z]+\]" || true
  cd - > /dev/null
}
run "$1" 5101
run "$2" 5102
