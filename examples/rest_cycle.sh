#!/usr/bin/env bash
# A whole governance cycle through the REST API with curl: three agents, one HTTP server.
# Run from the project root after `make install`:  bash examples/rest_cycle.sh
# (PORT and DB may be set; HIVEGOV_MCP names the command, default .venv/bin/hivegov-mcp).
set -euo pipefail
H=${HIVEGOV_MCP:-.venv/bin/hivegov-mcp}
PORT=${PORT:-8000}
DB=${DB:-$(mktemp -d)/gov.db}

ALICE=$($H --db "$DB" agent add alice --role proposer --role discussant)
BOB=$($H --db "$DB" agent add bob --role discussant --role voter)
CAROL=$($H --db "$DB" agent add carol --role mediator --role voter)

$H --db "$DB" serve --transport streamable-http --port "$PORT" &
SERVER=$!
trap 'kill $SERVER' EXIT
until curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null; do sleep 0.2; done

API=http://127.0.0.1:$PORT/api/governance
as() {  # as TOKEN curl-arguments…: one call as that agent, its JSON answer on one line
  local token=$1
  shift
  curl -sS --fail-with-body -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@"
  echo
}

as "$ALICE" -X POST "$API/proposals" -d '{"title": "Adopt semantic versioning", "type": "process",
  "abstract": "Version every release.", "motivation": "Agents need stable contracts.",
  "specification": "MAJOR.MINOR.PATCH for every public package."}'
as "$ALICE" -X POST "$API/discussions/BIP-001"
as "$BOB" -X POST "$API/discussions/BIP-001/comments" -d '{"content": "Looks right.", "type": "support"}'
as "$CAROL" -X POST "$API/discussions/BIP-001/summary"
as "$CAROL" -X POST "$API/discussions/BIP-001/conclude" -d '{"resolution": "approved-for-voting", "reason": "Consensus."}'
as "$BOB" -X POST "$API/votes/BIP-001" -d '{"decision": "approve", "justification": "Stable contracts help every agent."}'
as "$CAROL" -X POST "$API/votes/BIP-001" -d '{"decision": "approve", "justification": "Clear, small and reversible."}'
as "$BOB" "$API/votes/BIP-001"
as "$BOB" "$API/audit/verify"
