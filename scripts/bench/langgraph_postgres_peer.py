#!/usr/bin/env python3
"""The PostgreSQL peer for `agent-memory bench`: LangGraph's PostgresStore measured on a given
server, so its rates can be put beside `agent-memory exec --store postgres://...` from the same
run (scripts/bench/postgres_side_by_side.sh runs both on a throwaway cluster).

Install (a virtual environment keeps it apart from the system's Python):

    python3 -m venv .venv-peer
    .venv-peer/bin/pip install langgraph-checkpoint-postgres "psycopg[binary]"

Run:

    .venv-peer/bin/python scripts/bench/langgraph_postgres_peer.py postgresql://postgres@127.0.0.1:5432/postgres
    .venv-peer/bin/python scripts/bench/langgraph_postgres_peer.py URL --json

What it measures, in a namespace of its own that it deletes afterwards (the store's table is
created by `setup()` if missing):

- batched puts: `store.batch([PutOp, ...])` with --batch PutOps of new keys, --rounds times;
- batched gets: `store.batch([GetOp, ...])` with --batch GetOps of the keys just written;
- single durable puts: `store.put(...)` one at a time (autocommit: one commit each, with the
  server's `synchronous_commit`, printed);
- single gets: `store.get(...)` one at a time.

Values are small JSON objects holding a note of about 100 bytes, like the notes
`agent-memory bench` writes.
"""

import argparse
import json
import statistics
import time
import uuid


def note(index):
    """A deterministic note of about 100 bytes."""
    words = ["user", "prefers", "meeting", "project", "deadline", "review", "client", "coffee", "friday", "release"]
    text = " ".join(words[(index * 7 + position * 3) % len(words)] for position in range(14))
    return {"text": f"{text} #{index}"}


def row(name, per_call, times):
    """One result: operations per second over the summed time of the timed calls."""
    total = sum(times)
    count = per_call * len(times)
    return {
        "store": "langgraph PostgresStore",
        "measure": name,
        "operations": count,
        "ops_per_second": round(count / total) if total > 0 else None,
        "p50_ms_per_call": round(statistics.median(times) * 1000, 3),
    }


def measure(store, args):
    from langgraph.store.base import GetOp, PutOp

    namespace = ("bench", "pg-peer-" + uuid.uuid4().hex[:8])
    results = []

    times = []
    for round_index in range(args.rounds):
        ops = [PutOp(namespace=namespace, key=f"note/{round_index:03d}/{i:05d}", value=note(i)) for i in range(args.batch)]
        start = time.perf_counter()
        store.batch(ops)
        times.append(time.perf_counter() - start)
    results.append(row(f"batched puts ({args.batch:,} PutOps per batch)", args.batch, times))

    times = []
    for round_index in range(args.rounds):
        ops = [GetOp(namespace=namespace, key=f"note/{round_index:03d}/{i:05d}") for i in range(args.batch)]
        start = time.perf_counter()
        found = store.batch(ops)
        times.append(time.perf_counter() - start)
        missing = sum(1 for item in found if item is None)
        if missing:
            raise SystemExit(f"{missing} of {args.batch} gets found nothing")
    results.append(row(f"batched gets ({args.batch:,} GetOps per batch)", args.batch, times))

    times = []
    for i in range(args.single):
        start = time.perf_counter()
        store.put(namespace, f"single/{i:05d}", note(i))
        times.append(time.perf_counter() - start)
    results.append(row("single durable puts (one put, one commit)", 1, times))

    times = []
    for i in range(args.single):
        start = time.perf_counter()
        if store.get(namespace, f"single/{i:05d}") is None:
            raise SystemExit(f"get of single/{i:05d} found nothing")
        times.append(time.perf_counter() - start)
    results.append(row("single gets", 1, times))
    return namespace, results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the server: postgresql://USER[:PASSWORD]@HOST:PORT/DB")
    parser.add_argument("--batch", type=int, default=2_000, help="operations per batch (default 2,000)")
    parser.add_argument("--rounds", type=int, default=5, help="batches of puts and of gets (default 5)")
    parser.add_argument("--single", type=int, default=500, help="single puts, then single gets (default 500)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()

    from langgraph.store.postgres import PostgresStore

    with PostgresStore.from_conn_string(args.url) as store:
        store.setup()
        with store._cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            synchronous_commit = cursor.fetchone()
            synchronous_commit = synchronous_commit["synchronous_commit"] if isinstance(synchronous_commit, dict) else synchronous_commit[0]
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()
            version = version["server_version"] if isinstance(version, dict) else version[0]
        namespace = None
        try:
            namespace, results = measure(store, args)
        finally:
            # Leave the server as it was found: drop what this run wrote.
            with store._cursor() as cursor:
                cursor.execute("DELETE FROM store WHERE prefix LIKE %s", ("bench.pg-peer-%",))

    if args.json:
        print(json.dumps({"server_version": version, "synchronous_commit": synchronous_commit, "results": results}, indent=2))
        return
    print(f"LangGraph PostgresStore, PostgreSQL {version}, synchronous_commit = {synchronous_commit}")
    print(f"{'measure':<45} {'ops':>8} {'ops/s':>10} {'p50 ms/call':>12}")
    for result in results:
        print(f"{result['measure']:<45} {result['operations']:>8} {result['ops_per_second']:>10} {result['p50_ms_per_call']:>12}")


if __name__ == "__main__":
    main()
