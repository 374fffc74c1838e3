#!/bin/bash
# Alice's machine: her local agent first (it holds her key; the storage node is paid through it
# and asks it for her identity when it starts), then her storage node once the agent answers.
# If either stops, the other is stopped too and the container exits.
set -euo pipefail
node node_modules/@lcp/agent/dist/main.js serve &
agent=$!
trap 'kill -TERM $agent ${node:-} 2>/dev/null' TERM INT
for _ in $(seq 120); do
  LCP_HEALTH_URL=http://127.0.0.1:7468/healthz node healthcheck.js && break
  kill -0 "$agent" 2>/dev/null || exit 1
  sleep 0.5
done
node node_modules/@lcp/storage-node/dist/main.js &
node=$!
status=0
wait -n "$agent" "$node" || status=$?
kill -TERM "$agent" "$node" 2>/dev/null || true
wait || true
exit "$status"
