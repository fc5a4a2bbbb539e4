#!/usr/bin/env python3
"""The peer for `agent-memory bench`: LangGraph's SqliteStore (and PostgresStore, given a URL)
measured on this machine, so its rates can be put beside `agent-memory exec` from the same run.

Install (a virtual environment keeps it apart from the system's Python):

    python3 -m venv .venv-peer
    .venv-peer/bin/pip install langgraph langgraph-checkpoint-sqlite langgraph-checkpoint-postgres "psycopg[binary]"

Run:

    .venv-peer/bin/python scripts/bench/langgraph_peer.py                      # SQLite, a throwaway file
    .venv-peer/bin/python scripts/bench/langgraph_peer.py --postgres postgresql://user:pw@127.0.0.1:5432/db
    .venv-peer/bin/python scripts/bench/langgraph_peer.py --json

What it measures, on a store set up fresh for the run:

- batched puts: `store.batch([PutOp, ...])` with 2,000 PutOps of new keys, in rounds;
- batched gets: `store.batch([GetOp, ...])` with 2,000 GetOps of existing keys, in rounds;
- single durable puts: `store.put(...)` one at a time, each its own commit.

SQLite runs with WAL and `synchronous = FULL` (AgentMemory's defaults: every commit fsynced);
the pragmas in force are printed. Each value is a small JSON object holding a note of about
100 bytes, like the notes `agent-memory bench` writes.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import time


def note(index):
    """A deterministic note of about 100 bytes."""
    words = ["user", "prefers", "meeting", "project", "deadline", "review", "client", "coffee", "friday", "release"]
    text = " ".join(words[(index * 7 + position * 3) % len(words)] for position in range(14))
    return {"text": f"{text} #{index}"}


def rate(count, seconds):
    return count / seconds if seconds > 0 else float("inf")


def measure(store, label, batch_size, rounds, single_puts):
    """Runs the three measures on one store; returns a list of result rows."""
    from langgraph.store.base import GetOp, PutOp

    namespace = ("bench", label)
    results = []

    # Batched puts: `rounds` batches of `batch_size` new keys (wall time, and the process's
    # CPU time, which a loaded machine disturbs less).
    times, cpu = [], []
    for round_index in range(rounds):
        ops = [
            PutOp(namespace=namespace, key=f"note/{round_index:03d}/{i:05d}", value=note(i))
            for i in range(batch_size)
        ]
        start, cpu_start = time.perf_counter(), time.process_time()
        store.batch(ops)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
    results.append(row(label, f"batched puts ({batch_size:,} PutOps per batch)", batch_size, times, cpu))

    # Batched gets of the keys just written.
    times, cpu = [], []
    for round_index in range(rounds):
        ops = [GetOp(namespace=namespace, key=f"note/{round_index:03d}/{i:05d}") for i in range(batch_size)]
        start, cpu_start = time.perf_counter(), time.process_time()
        found = store.batch(ops)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
        missing = sum(1 for item in found if item is None)
        if missing:
            raise SystemExit(f"{label}: {missing} of {batch_size} gets found nothing")
    results.append(row(label, f"batched gets ({batch_size:,} GetOps per batch)", batch_size, times, cpu))

    # Single durable puts, one commit each.
    times = []
    for i in range(single_puts):
        start = time.perf_counter()
        store.put(namespace, f"single/{i:05d}", note(i))
        times.append(time.perf_counter() - start)
    results.append(row(label, "single durable puts (one put, one commit)", 1, times))
    return results


def row(store, name, per_call, times, cpu=None):
    total = sum(times)
    result = {
        "store": store,
        "measure": name,
        "operations": per_call * len(times),
        "ops_per_second": round(rate(per_call * len(times), total)),
        "p50_ms_per_call": round(statistics.median(times) * 1000, 3),
    }
    if cpu:
        result["p50_cpu_ms_per_call"] = round(statistics.median(cpu) * 1000, 3)
    return result


def run_sqlite(args):
    import sqlite3

    from langgraph.store.sqlite import SqliteStore

    directory = tempfile.mkdtemp(prefix="langgraph-peer-", dir=args.directory)
    try:
        path = os.path.join(directory, "peer.sqlite")
        # Same connection settings as SqliteStore.from_conn_string (autocommit; the store opens
        # its own transactions), then AgentMemory's durability: WAL, synchronous FULL.
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        pragmas = {
            "journal_mode": conn.execute("PRAGMA journal_mode").fetchone()[0],
            "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[conn.execute("PRAGMA synchronous").fetchone()[0]],
            "sqlite_version": sqlite3.sqlite_version,
        }
        store = SqliteStore(conn)
        store.setup()
        try:
            return pragmas, measure(store, "langgraph SqliteStore", args.batch, args.rounds, args.single)
        finally:
            conn.close()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def run_postgres(args):
    from langgraph.store.postgres import PostgresStore

    with PostgresStore.from_conn_string(args.postgres) as store:
        store.setup()
        label = "langgraph PostgresStore"
        try:
            return measure(store, label, args.batch, args.rounds, args.single)
        finally:
            # Leave the server as it was found: drop what this run wrote.
            with store._cursor() as cursor:
                cursor.execute("DELETE FROM store WHERE prefix LIKE %s", ("bench.%",))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", metavar="URL", help="also measure PostgresStore on this server (postgresql://...)")
    parser.add_argument("--batch", type=int, default=2_000, help="operations per batch (default 2,000)")
    parser.add_argument("--rounds", type=int, default=5, help="batches of puts and of gets (default 5)")
    parser.add_argument("--single", type=int, default=500, help="single durable puts (default 500)")
    parser.add_argument("--directory", help="folder for the throwaway SQLite file (default: the system's temporary folder)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()

    import langgraph.store.base  # noqa: F401  (fails early with a clear message when not installed)
    from importlib.metadata import version

    started = time.perf_counter()
    pragmas, results = run_sqlite(args)
    if args.postgres:
        results += run_postgres(args)
    info = {
        "python": platform.python_version(),
        "langgraph": version("langgraph"),
        "langgraph-checkpoint-sqlite": version("langgraph-checkpoint-sqlite"),
        "langgraph-checkpoint-postgres": version("langgraph-checkpoint-postgres") if args.postgres else None,
        "sqlite": pragmas,
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
        "seconds": round(time.perf_counter() - started, 1),
    }
    if args.json:
        print(json.dumps({"info": info, "results": results}, indent=2))
        return
    print(f"langgraph peer: langgraph {info['langgraph']}, checkpoint-sqlite {info['langgraph-checkpoint-sqlite']}, "
          f"SQLite {pragmas['sqlite_version']} ({pragmas['journal_mode']}, synchronous {pragmas['synchronous']}), "
          + (f"checkpoint-postgres {info['langgraph-checkpoint-postgres']}, " if args.postgres else "")
          + f"{info['cores']} cores, load {info['load_average'][0]:.2f}, {info['seconds']} s")
    print()
    print("| store | measure | ops/s | p50 ms per call |")
    print("|---|---|---:|---:|")
    for result in results:
        print(f"| {result['store']} | {result['measure']} | {result['ops_per_second']:,} | {result['p50_ms_per_call']} |")


if __name__ == "__main__":
    main()
