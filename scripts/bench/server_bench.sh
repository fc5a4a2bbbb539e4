#!/usr/bin/env bash
# The HTTP server row of BENCHMARKS.md: wrk with 16 keep-alive connections, GET and PUT, against
# `agent-memory serve` (release build, SQLite FULL) and a FastAPI + SQLite server doing the same.
# Needs: apt-get install wrk; pip install fastapi uvicorn. Usage: scripts/bench/server_bench.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
binary=$(scripts/build-release.sh --scratch-path .build-release)   # the README's install build
work=$(mktemp -d /tmp/agent-memory-server-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
wait_port() { for _ in $(seq 1 200); do curl -s "http://127.0.0.1:$1/memory/bench/key-0" >/dev/null && return 0; sleep 0.1; done; return 1; }
run() { # NAME PORT
    wrk -t 2 -c 16 -d "${seconds}s" --latency -s scripts/bench/put.lua "http://127.0.0.1:$2" > "$work/$1-put.txt"
    wrk -t 2 -c 16 -d "${seconds}s" --latency -s scripts/bench/get.lua "http://127.0.0.1:$2" > "$work/$1-get.txt"
    for op in put get; do
        rps=$(awk '/Requests\/sec/ {print $2}' "$work/$1-$op.txt")
        p50=$(awk '$1 == "50%" {print $2}' "$work/$1-$op.txt")
        p99=$(awk '$1 == "99%" {print $2}' "$work/$1-$op.txt")
        printf '%-26s %-4s %10s req/s  p50 %8s  p99 %8s\n' "$1" "$op" "$rps" "$p50" "$p99"
    done
}
port=$(free_port)
"$binary" serve --port "$port" --rate-limit 0 --store "sqlite:$work/swift.sqlite" 2>/dev/null &
wait_port "$port"
run "agent-memory serve" "$port"
kill %1; wait %1 2>/dev/null || true
port=$(free_port)
python3 scripts/bench/fastapi_sqlite_server.py "$work/fastapi.sqlite" "$port" &
wait_port "$port"
run "FastAPI + SQLite" "$port"
