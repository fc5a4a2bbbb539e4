#!/usr/bin/env python3
"""PostgreSQL rows under planner statistics older than the measured namespace (BENCHMARKS.md,
round fifty-seven).

Each run drops and makes the schema `stalebench`, writes one record into each of three
namespaces, switches autovacuum off for the records' table and runs `ANALYZE`: the planner then
takes any namespace it does not know for one row (`n_distinct = -1`). Then:

- `--what bench`: `agent-memory bench --store URL?schema=stalebench --only postgres`, whose rows
  include single durable puts in a new namespace;
- `--what search`: ten `agent-memory exec` processes of 2,000 `remember` calls each into one
  namespace (20,000 records), then seven `agent-memory search` processes for a rare word each,
  timed from spawn to exit (the first catches the search documents up).

    python3 scripts/bench/postgres_stale_statistics.py --binary B --url postgres://USER@HOST:PORT/DB --what search

Needs `psql` on the PATH. The schema is left in place afterwards (drop it with
`DROP SCHEMA stalebench CASCADE`).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from exec_vs_peer import note  # noqa: E402  (the peer's note text, as the other scripts use)


def stale_schema(binary, url, store):
    """Makes the schema with statistics that know three one-record namespaces only."""
    psql = ["psql", url, "-q", "-v", "ON_ERROR_STOP=1"]
    subprocess.run(psql + ["-c", "DROP SCHEMA IF EXISTS stalebench CASCADE"], capture_output=True, check=True)
    for namespace in "abc":
        subprocess.run([binary, "remember", "--store", store, "--namespace", namespace, "k", "v"], capture_output=True, check=True)
    subprocess.run(psql + ["-c", "ALTER TABLE stalebench.memory_records SET (autovacuum_enabled = false)",
                           "-c", "ANALYZE stalebench.memory_records"], check=True)


def search_run(binary, store):
    """20,000 records by ten `exec` processes, then seven searches; prints the times."""
    execs, searches = [], []
    for round_ in range(10):
        content = [{"type": "tool_use", "id": f"t{round_}_{i}", "name": "remember",
                    "input": {"key": f"note/{round_}/{i}", "value": note(round_ * 2000 + i)}} for i in range(2000)]
        start = time.perf_counter()
        done = subprocess.run([binary, "exec", "--store", store, "--namespace", "big"],
                              input=json.dumps({"role": "assistant", "content": content}).encode(), capture_output=True)
        execs.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"exec failed: {done.stderr.decode()[:500]}")
    for word in ["17345", "3001", "12999", "9876", "15432", "1111", "19998"]:
        start = time.perf_counter()
        done = subprocess.run([binary, "search", "--store", store, "--namespace", "big", word, "--limit", "10"], capture_output=True)
        searches.append(time.perf_counter() - start)
        if done.returncode != 0 or f"#{word}" not in done.stdout.decode():
            raise SystemExit(f"search for {word} did not find its note: {done.stdout.decode()[:300]} {done.stderr.decode()[:300]}")
    print("exec ms:", " ".join(f"{x * 1e3:.0f}" for x in execs))
    print("search ms:", " ".join(f"{x * 1e3:.0f}" for x in searches), f"| median of the last six {1e3 * statistics.median(searches[1:]):.0f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True, help="the agent-memory binary")
    parser.add_argument("--url", required=True, help="postgres://USER@HOST:PORT/DB (no query string)")
    parser.add_argument("--what", choices=["bench", "search"], default="bench")
    args = parser.parse_args()
    store = args.url + "?schema=stalebench"
    stale_schema(args.binary, args.url, store)
    if args.what == "bench":
        done = subprocess.run([args.binary, "bench", "--store", store, "--only", "postgres"], capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"bench failed: {done.stderr[-500:]}")
        print("\n".join(line for line in done.stdout.splitlines() if "[postgres]" in line and line.startswith("|")))
    else:
        search_run(args.binary, store)


if __name__ == "__main__":
    main()
