#!/bin/bash
# Alice's machine: her local agent first (it holds her key; the storage node is paid through it),
# then her storage node. If either stops, the other is stopped too and the container exits.
set -euo pipefail
node node_modules/@lcp/agent/dist/main.js serve &
agent=$!
node node_modules/@lcp/storage-node/dist/main.js &
node=$!
trap 'kill -TERM $agent $node 2>/dev/null' TERM INT
status=0
wait -n "$agent" "$node" || status=$?
kill -TERM "$agent" "$node" 2>/dev/null || true
wait || true
exit "$status"
