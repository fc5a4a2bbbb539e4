#!/usr/bin/env bash
# The CLI front end, end to end: run from the repository root after `swift build`.
# Uses a throwaway store so your own memory is untouched.
set -euo pipefail
bin=${AGENT_MEMORY_BIN:-.build/debug/agent-memory}
export AGENT_MEMORY_HOME=$(mktemp -d)
trap 'rm -rf "$AGENT_MEMORY_HOME"' EXIT

"$bin" remember user.name "Ada Lovelace"
"$bin" recall user.name                      # -> Ada Lovelace
"$bin" --agent planner remember project.deadline "Friday" --ttl 86400
"$bin" list
"$bin" exec --pretty < Examples/claude-response.json
"$bin" export
