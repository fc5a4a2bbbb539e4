#!/usr/bin/env bash
# `agent-memory exec` (2,000 remember calls in one message, then 2,000 recall calls, each a
# whole process on a fresh file-backed SQLite store) beside LangGraph's SqliteStore (batched
# PutOps and GetOps of 2,000), measured in the same run; prints a table with the ratios.
#
#   scripts/bench/exec_vs_peer.sh              # builds, installs the peer once, measures
#   SKIP_BUILD=1 scripts/bench/exec_vs_peer.sh --rounds 9
#
# The release binary is built into .build-release (as BENCHMARKS.md's commands do); the peer
# is installed from PyPI into .build-peer-venv (both ignored by git). Extra arguments go to
# scripts/bench/exec_vs_peer.py (--calls, --rounds, --directory).
set -euo pipefail
cd "$(dirname "$0")/../.."

# The README's install build (scripts/build-release.sh).
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    binary=$(scripts/build-release.sh --scratch-path .build-release)
else
    binary=.build-release/release/agent-memory
fi

venv=.build-peer-venv
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c "import langgraph.store.sqlite" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q langgraph langgraph-checkpoint-sqlite >&2
fi

exec python3 scripts/bench/exec_vs_peer.py --binary "$binary" --peer-python "$venv/bin/python" "$@"
