#!/usr/bin/env bash
# A whole governance cycle through the REST API with curl: three agents, one HTTP server.
# Run from the project root after `make install`:  bash examples/rest_cycle.sh
# It works in a temporary folder removed on exit, on a free port. PORT and DB may be set;
# HIVEGOV_MCP names the command (default .venv/bin/hivegov-mcp), PYTHON the Python beside it.
set -euo pipefail
H=${HIVEGOV_MCP:-.venv/bin/hivegov-mcp}
PY=${PYTHON:-$(dirname "$H")/python}
WORK=$(mktemp -d)
SERVER=
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
PORT=${PORT:-$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
DB=${DB:-$WORK/gov.db}

ALICE=$($H --db "$DB" agent add alice --role proposer --role discussant)
BOB=$($H --db "$DB" agent add bob --role discussant --role voter)
CAROL=$($H --db "$DB" agent add carol --role mediator --role voter)

$H --db "$DB" serve --transport streamable-http --port "$PORT" &
SERVER=$!
for _ in $(seq 100); do  # up to 20 s for the server to answer
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  kill -0 "$SERVER" 2>/dev/null || { echo "the server stopped; see its message above" >&2; exit 1; }
  sleep 0.2
done

API=http://127.0.0.1:$PORT/api/governance
as() {  # as TOKEN curl-arguments…: one call as that agent, its JSON answer on one line
  local token=$1
  shift
  curl -sS --fail-with-body -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@"
  echo
}

CREATED=$(as "$ALICE" -X POST "$API/proposals" -d '{"title": "Adopt semantic versioning", "type": "process",
  "abstract": "Version every release.", "motivation": "Agents need stable contracts.",
  "specification": "MAJOR.MINOR.PATCH for every public package."}')
echo "$CREATED"
ID=$(echo "$CREATED" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["id"])')  # e.g. BIP-001
as "$ALICE" -X POST "$API/discussions/$ID"
as "$BOB" -X POST "$API/discussions/$ID/comments" -d '{"content": "Looks right.", "type": "support"}'
as "$CAROL" -X POST "$API/discussions/$ID/summary"
as "$CAROL" -X POST "$API/discussions/$ID/conclude" -d '{"resolution": "approved-for-voting", "reason": "Consensus."}'
as "$BOB" -X POST "$API/votes/$ID" -d '{"decision": "approve", "justification": "Stable contracts help every agent."}'
as "$CAROL" -X POST "$API/votes/$ID" -d '{"decision": "approve", "justification": "Clear, small and reversible."}'
as "$BOB" "$API/votes/$ID"
as "$BOB" "$API/audit/verify"
