#!/usr/bin/env bash
# AgentMemory's PostgreSQL rows beside LangGraph's PostgresStore, on one throwaway PostgreSQL
# cluster, in the same run; prints the table of issue 13 with the ratios.
#
#   scripts/bench/postgres_side_by_side.sh                 # a throwaway cluster (initdb), then both
#   scripts/bench/postgres_side_by_side.sh --url URL       # an existing server instead
#   ROUNDS=3 scripts/bench/postgres_side_by_side.sh        # alternate peer and ours 3 times
#
# Needs: a release build (scripts/build-release.sh --scratch-path .build-release, or
# AGENT_MEMORY_BIN), python3 with langgraph-checkpoint-postgres and
# psycopg[binary] (PYTHON, default python3), and for the throwaway cluster the PostgreSQL server
# binaries (/usr/lib/postgresql/*/bin; as root the server runs as the postgres user).
set -euo pipefail
cd "$(dirname "$0")/../.."

bin=${AGENT_MEMORY_BIN:-.build-release/release/agent-memory}
python=${PYTHON:-python3}
rounds=${ROUNDS:-1}
url=""
if [ "${1:-}" = "--url" ]; then url=$2; fi
[ -x "$bin" ] || { echo "no agent-memory binary at $bin: build it (see the top of this script) or set AGENT_MEMORY_BIN" >&2; exit 2; }
"$python" -c "import langgraph.store.postgres, psycopg" 2>/dev/null \
    || { echo "$python lacks langgraph-checkpoint-postgres / psycopg: pip install langgraph-checkpoint-postgres 'psycopg[binary]'" >&2; exit 2; }

work=$(mktemp -d /tmp/agent-memory-pg-bench.XXXXXX)
pg_bin=""
cleanup() {
    if [ -n "$pg_bin" ] && [ -f "$work/data/postmaster.pid" ]; then
        as_postgres "$pg_bin/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ -z "$url" ]; then
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$pg_bin" ] || { echo "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin; pass --url URL" >&2; exit 2; }
    [ "$(id -u)" = 0 ] && chown postgres "$work"
    as_postgres "$pg_bin/initdb" -D "$work/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    as_postgres "$pg_bin/pg_ctl" -D "$work/data" -l "$work/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $work" start >/dev/null
    url="postgres://postgres@127.0.0.1:$port/postgres"
fi
echo "server: ${url%%\?*} (load average before: $(cut -d' ' -f1-3 /proc/loadavg))" >&2

# Alternate the two so that both see the same load; keep every round.
for round in $(seq 1 "$rounds"); do
    echo "round $round: LangGraph PostgresStore" >&2
    "$python" scripts/bench/langgraph_postgres_peer.py "${url/postgres:/postgresql:}" --json > "$work/peer-$round.json"
    echo "round $round: agent-memory bench --only postgres" >&2
    "$bin" bench --store "$url" --only postgres --json > "$work/ours-$round.json"
done

python3 - "$work" "$rounds" <<'EOF'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
peer = [json.load(open(f"{work}/peer-{r}.json")) for r in range(1, rounds + 1)]
ours = [json.load(open(f"{work}/ours-{r}.json")) for r in range(1, rounds + 1)]

def peer_rate(prefix):
    return statistics.median(next(x["ops_per_second"] for x in p["results"] if x["measure"].startswith(prefix)) for p in peer)

def our(name, field="rate"):
    return statistics.median(next(m[field] for m in o["measures"] if m["name"].startswith(name) and m["store"] == "postgres") for o in ours)

rows = [
    ("write: 2,000 in one go", "batched puts", peer_rate("batched puts"), "exec, 2,000 remember calls", our("exec, 2,000 remember calls in one message"), 1.0),
    ("read: 2,000 in one go", "batched gets", peer_rate("batched gets"), "exec, 2,000 recall calls", our("exec, 2,000 recall calls in one message"), 0.5),
    ("single durable put", "store.put", peer_rate("single durable puts"), "store.put (read, write statement, commit confirmed)", our("put, one writer"), 2.0),
    ("single get", "store.get", peer_rate("single gets"), "store.get", our("get hit"), None),
]
print(f"PostgreSQL {peer[0]['server_version'].split()[0]}, synchronous_commit = {peer[0]['synchronous_commit']}, "
      f"{rounds} round(s), medians; load average after: {ours[-1]['load_average_after']:.1f}")
print()
print("| measure | LangGraph PostgresStore | /s | agent-memory | /s | ratio | target |")
print("|---|---|---:|---|---:|---:|---|")
for label, peer_name, peer_value, our_name, our_value, target in rows:
    ratio = our_value / peer_value
    verdict = "" if target is None else (f"≥ {target:g}× {'met' if ratio >= target else 'NOT met'}")
    print(f"| {label} | {peer_name} | {peer_value:,.0f} | {our_name} | {our_value:,.0f} | {ratio:.2f}× | {verdict} |")
# The peer has no measure of updates; the row shows what the same process costs over keys it wrote before.
updates = our("exec, 2,000 remember calls over existing keys")
print(f"| write: 2,000 updates in one go | | | exec, 2,000 remember calls over existing keys | {updates:,.0f} | | |")
p50 = our("`agent-memory recall` process", "p50_us") / 1000
print(f"| `agent-memory recall` process, start to exit | | | p50 | {p50:.1f} ms | | ≤ 25 ms {'met' if p50 <= 25 else 'NOT met'} |")
EOF
