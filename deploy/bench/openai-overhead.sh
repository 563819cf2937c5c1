#!/usr/bin/env bash
# The OpenAI-compatible route against the gateway's own HTTP/JSON Solve route on the same requests (8 candidates, 96 tokens,
# seeds 1..10, sequential, curl over HTTP/1.1), three interleaved rounds: mean milliseconds per request.
# Needs a suite on 8080: dotnet run -c Release --project services/Sprint.Cli -- serve --web-port 8080
set -euo pipefail
web=${1:-http://127.0.0.1:8080}
q="Mia starts with 21 apples. Mia gives 8 apples to Iris. Each of the apples is traded for 4 new ones. How many apples does Mia have now?"
model=$(curl -s "$web/v1/models" | jq -r '.data[0].id')
mean() {   # mean ms of 10 requests: mean PATH BODY-TEMPLATE (SEED replaced)
  local start end
  start=$(date +%s%N)
  for seed in $(seq 1 10); do curl -sN "$web$1" --json "${2//SEED/$seed}" > /dev/null; done
  end=$(date +%s%N)
  echo $(( (end - start) / 10000000 ))
}
for round in 1 2 3; do
  json=$(mean /v1/solve "{\"question\":\"$q\",\"n\":8,\"seed\":SEED,\"maxNewTokens\":96}")
  chat=$(mean /v1/chat/completions "{\"model\":\"$model\",\"messages\":[{\"role\":\"user\",\"content\":\"$q\"}],\"best_of\":8,\"seed\":SEED,\"max_tokens\":96}")
  stream=$(mean /v1/chat/completions "{\"model\":\"$model\",\"messages\":[{\"role\":\"user\",\"content\":\"$q\"}],\"best_of\":8,\"seed\":SEED,\"max_tokens\":96,\"stream\":true}")
  echo "round $round: /v1/solve ${json} ms, /v1/chat/completions ${chat} ms, streamed ${stream} ms"
done
